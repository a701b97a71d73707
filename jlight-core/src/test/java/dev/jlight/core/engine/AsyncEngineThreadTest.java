package dev.jlight.core.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jlight.core.testing.AsyncLaunchModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The engine thread with overlapped steps on a model that computes on its own thread: client
 * threads stream and cancel mid-flight, the finished ones get the reference tokens, every block
 * comes back, and closing leaves no launched step unawaited.
 */
@Timeout(60)
class AsyncEngineThreadTest {

    private static List<Integer> tokens(List<RequestOutput> outputs) {
        List<Integer> out = new ArrayList<>();
        for (RequestOutput o : outputs) {
            for (int t : o.choices().getFirst().tokenIds()) {
                out.add(t);
            }
        }
        return out;
    }

    @Test
    void clientsStreamAndCancelWhileStepsAreInFlight() throws Exception {
        FakeModel fake = new FakeModel(Harness.VOCAB);
        fake.deviceSampling = true;
        fake.delayMillis = 1;
        AsyncLaunchModel model = new AsyncLaunchModel(fake, AsyncLaunchModel.Mode.THREAD);
        FakeKvCache kv = new FakeKvCache(256, 4);
        EngineOptions options = Harness.options(256, 64, 32).withAsyncScheduling(true);
        ExecutorService clients = Executors.newFixedThreadPool(8);
        try (Engine e = Engine.start(model, kv, options, Set.of(Harness.EOS), FakeDecoder.letters())) {
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                int k = i;
                done.add(clients.submit(() -> {
                    int[] prompt = Harness.prompt(k, 3 + k % 9);
                    int maxTokens = k % 3 == 0 ? 200 : 30;     // cancelled ones would run long
                    RequestStream s = e.generate(new EngineRequest("c" + k, prompt, SamplingParams.builder()
                            .temperature(0).maxTokens(maxTokens).ignoreEos(true).build()));
                    List<RequestOutput> got = new ArrayList<>();
                    for (RequestOutput o = s.take(); o != null; o = s.take()) {
                        got.add(o);
                        if (k % 3 == 0 && got.size() == 2) {
                            s.cancel();
                        }
                    }
                    List<Integer> want = Harness.referenceGreedy(prompt, maxTokens, true);
                    List<Integer> have = tokens(got);
                    FinishReason reason = got.getLast().choices().getFirst().finishReason();
                    if (k % 3 == 0) {
                        assertEquals(FinishReason.ABORT, reason, "request " + k);
                        assertEquals(want.subList(0, have.size()), have, "request " + k);
                    } else {
                        assertEquals(FinishReason.LENGTH, reason, "request " + k);
                        assertEquals(want, have, "request " + k);
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
            EngineMetrics m = e.metrics();
            for (int i = 0; i < 2000 && (m.running() > 0 || m.kvUsage() > 0); i++) {
                Thread.sleep(5);
                m = e.metrics();
            }
            assertEquals(0.0, m.kvUsage(), "blocks kept after every request ended: " + m);
            assertTrue(m.asyncSteps() > 0, m.toString());
            assertEquals(6, m.requestsAborted());
            // a long request still in flight when the engine closes is aborted and its steps awaited
            RequestStream last = e.generate(new EngineRequest("last", Harness.prompt(99, 5), SamplingParams.builder()
                    .temperature(0).maxTokens(200).ignoreEos(true).build()));
            assertNotNull(last.take());
        } finally {
            clients.shutdownNow();
        }
        assertEquals(0, model.unawaited(), "the engine closed with launched steps unawaited");
        model.close();
    }
}
