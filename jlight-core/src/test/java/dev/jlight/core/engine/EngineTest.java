package dev.jlight.core.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jlight.core.JLightException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The threaded engine: many client threads, streaming, abort, close. */
@Timeout(30)
class EngineTest {

    private static Engine start(FakeModel model, int numBlocks, EngineOptions options) {
        return Engine.start(model, new FakeKvCache(numBlocks, 4), options, Set.of(Harness.EOS), FakeDecoder.letters());
    }

    private static int[] ids(List<Integer> l) {
        return l.stream().mapToInt(Integer::intValue).toArray();
    }

    @Test
    void streamsAndCollects() throws Exception {
        try (Engine e = start(new FakeModel(Harness.VOCAB), 64, Harness.options(256, 2048, 256))) {
            int[] prompt = Harness.prompt(1, 9);
            RequestStream s = e.generate(new EngineRequest("a", prompt, SamplingParams.greedy(12)));
            List<Integer> got = new ArrayList<>();
            int outputs = 0;
            for (RequestOutput o : s) {
                for (int t : o.choices().getFirst().tokenIds()) {
                    got.add(t);
                }
                outputs++;
            }
            assertTrue(s.isEnded());
            assertNull(s.take());
            assertEquals(Harness.referenceGreedy(prompt, 12, false), got);
            assertEquals(got.size(), outputs);

            CompletionResult r = e.generate(new EngineRequest("a", prompt, SamplingParams.greedy(12))).collect();
            assertArrayEquals(ids(got), r.choices().getFirst().tokenIds());
            assertEquals(9, r.promptTokens());
            assertEquals(got.size(), r.generatedTokens());
            assertEquals(got.size(), r.choices().getFirst().text().length() + (got.getLast() == Harness.EOS ? 1 : 0));
        }
    }

    @Test
    void manyClientThreadsGetTheirOwnOutputs() throws Exception {
        try (Engine e = start(new FakeModel(Harness.VOCAB), 48, Harness.options(128, 64, 8));
             ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<CompletionResult>> futures = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                int k = i;
                futures.add(pool.submit(() -> e.generate(new EngineRequest("c" + k, Harness.prompt(k, 3 + k % 20),
                        SamplingParams.builder().temperature(0).maxTokens(4 + k % 9).ignoreEos(true).build())).collect()));
            }
            for (int i = 0; i < 32; i++) {
                CompletionResult r = futures.get(i).get();
                assertEquals("c" + i, r.requestId());
                assertArrayEquals(ids(Harness.referenceGreedy(Harness.prompt(i, 3 + i % 20), 4 + i % 9, true)),
                        r.choices().getFirst().tokenIds());
            }
            EngineMetrics m = awaitIdle(e);
            assertEquals(32, m.requestsFinished());
            assertEquals(0.0, m.kvUsage());
            assertTrue(m.preemptions() >= 0);
        }
    }

    private static EngineMetrics awaitIdle(Engine e) throws InterruptedException {
        for (int i = 0; i < 2000; i++) {
            EngineMetrics m = e.metrics();
            if (m.running() == 0 && m.waiting() == 0) {
                return m;
            }
            Thread.sleep(5);
        }
        throw new AssertionError("engine never idle: " + e.metrics());
    }

    @Test
    void cancelAbortsMidStreamAndFreesBlocks() throws Exception {
        FakeModel model = new FakeModel(Harness.VOCAB);
        model.delayMillis = 2;
        try (Engine e = start(model, 256, Harness.options(1024, 2048, 256))) {
            RequestStream s = e.generate(new EngineRequest("long", Harness.prompt(1, 5), SamplingParams.builder()
                    .maxTokens(900).ignoreEos(true).build()));
            RequestOutput first = s.take();
            assertNotNull(first);
            s.cancel();
            RequestOutput last = first;
            for (RequestOutput o = s.take(); o != null; o = s.take()) {
                last = o;
            }
            assertEquals(FinishReason.ABORT, last.choices().getFirst().finishReason());
            assertTrue(last.generatedTokens() < 900);
            EngineMetrics m = awaitIdle(e);
            assertEquals(0.0, m.kvUsage());
            assertEquals(1, m.requestsAborted());
            // The id is free again once the request ended.
            e.generate(new EngineRequest("long", Harness.prompt(1, 5), SamplingParams.greedy(1))).collect();
        }
    }

    @Test
    void idleEngineDoesNotSpin() throws Exception {
        try (Engine e = start(new FakeModel(Harness.VOCAB), 64, Harness.options(256, 2048, 256))) {
            e.generate(new EngineRequest("x", Harness.prompt(1, 4), SamplingParams.greedy(3))).collect();
            long steps = awaitIdle(e).steps();
            Thread.sleep(50);
            assertEquals(steps, e.metrics().steps());
        }
    }

    @Test
    void badRequestsFailOnTheCallersThread() throws Exception {
        FakeModel model = new FakeModel(Harness.VOCAB);
        model.delayMillis = 1;
        try (Engine e = start(model, 64, Harness.options(64, 2048, 256))) {
            InvalidRequestException x = assertThrows(InvalidRequestException.class,
                    () -> e.generate(new EngineRequest("b", Harness.prompt(1, 64), SamplingParams.greedy(1))));
            assertEquals("prompt", x.param());
            RequestStream s = e.generate(new EngineRequest("dup", Harness.prompt(1, 4), SamplingParams.builder()
                    .maxTokens(50).ignoreEos(true).build()));
            x = assertThrows(InvalidRequestException.class,
                    () -> e.generate(new EngineRequest("dup", Harness.prompt(1, 4), SamplingParams.greedy(1))));
            assertEquals("request_id", x.param());
            s.collect();
            assertEquals(1, awaitIdle(e).requestsAdmitted());
        }
    }

    @Test
    void closeAbortsLiveRequestsAndRefusesNewOnes() throws Exception {
        FakeModel model = new FakeModel(Harness.VOCAB);
        model.delayMillis = 2;
        Engine e = start(model, 256, Harness.options(1024, 2048, 256));
        RequestStream s = e.generate(new EngineRequest("x", Harness.prompt(1, 5), SamplingParams.builder()
                .maxTokens(900).ignoreEos(true).build()));
        assertNotNull(s.take());
        e.close();
        CompletionResult r = s.collect();
        assertEquals(FinishReason.ABORT, r.choices().getFirst().finishReason());
        assertThrows(JLightException.class, () -> e.generate(new EngineRequest("y", Harness.prompt(1, 5),
                SamplingParams.greedy(1))));
        e.close();
    }

    @Test
    void failedRequestThrowsFromTheStream() throws Exception {
        FakeModel model = new FakeModel(Harness.VOCAB);
        model.failOnToken = 48;
        try (Engine e = start(model, 64, Harness.options(256, 2048, 256))) {
            RequestStream s = e.generate(new EngineRequest("f", new int[] {1, 48}, SamplingParams.greedy(3)));
            JLightException x = assertThrows(JLightException.class, s::take);
            assertTrue(x.getMessage().contains("injected failure"), x.getMessage());
            assertTrue(s.isEnded());
            assertEquals(3, e.generate(new EngineRequest("ok", new int[] {1, 2}, SamplingParams.builder().maxTokens(3)
                    .ignoreEos(true).build())).collect().generatedTokens());
        }
    }

    @Test
    void publisherHonoursDemand() throws Exception {
        try (Engine e = start(new FakeModel(Harness.VOCAB), 64, Harness.options(256, 2048, 256))) {
            int[] prompt = Harness.prompt(2, 6);
            Flow.Publisher<RequestOutput> pub = e.generate(new EngineRequest("p", prompt, SamplingParams.builder()
                    .temperature(0).maxTokens(7).ignoreEos(true).build())).asPublisher();
            List<Integer> got = new ArrayList<>();
            CountDownLatch done = new CountDownLatch(1);
            pub.subscribe(new Flow.Subscriber<>() {
                private Flow.Subscription sub;

                @Override
                public void onSubscribe(Flow.Subscription s) {
                    sub = s;
                    s.request(1);
                }

                @Override
                public void onNext(RequestOutput o) {
                    for (int t : o.choices().getFirst().tokenIds()) {
                        got.add(t);
                    }
                    sub.request(1);
                }

                @Override
                public void onError(Throwable t) {
                    done.countDown();
                }

                @Override
                public void onComplete() {
                    done.countDown();
                }
            });
            assertTrue(done.await(10, TimeUnit.SECONDS));
            assertEquals(Harness.referenceGreedy(prompt, 7, true), got);
        }
    }
}
