package dev.jlight.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jlight.core.engine.EngineMetrics;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** Many streams at once in one batch give what the same requests give one at a time. */
class ConcurrencyTest {
    static final int STREAMS = 32;

    static ObjectNode request(int i) {
        ObjectNode r = Http.obj().put("model", TestServers.MODEL).put("max_tokens", 10 + i % 5).put("temperature", 0)
                .put("ignore_eos", i % 2 == 0).put("stream", true);
        r.putArray("messages").addObject().put("role", "user")
                .put("content", "Story " + i + ": the " + (i % 3 == 0 ? "old" : "young") + " man walked to the "
                        + List.of("river", "house", "church", "market").get(i % 4) + ".");
        return r;
    }

    @Test
    void parallelGreedyStreamsMatchSequentialOnes() throws Exception {
        List<String> sequential = new ArrayList<>();
        for (int i = 0; i < STREAMS; i++) {
            sequential.add(StreamingConformanceTest.stream(ChatEndpoint.PATH, request(i)).text().get(0));
        }
        EngineMetrics before = TestServers.shared().runtime().engine().metrics();
        List<Future<String>> futures = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < STREAMS; i++) {
                int k = i;
                futures.add(pool.submit(() -> StreamingConformanceTest.stream(ChatEndpoint.PATH, request(k)).text()
                        .get(0)));
            }
            for (int i = 0; i < STREAMS; i++) {
                assertEquals(sequential.get(i), futures.get(i).get(), "stream " + i);
            }
        }
        EngineMetrics after = TestServers.shared().runtime().engine().metrics();
        double perStep = (double) (after.generatedTokens() - before.generatedTokens()) / (after.steps() - before.steps());
        assertTrue(perStep > 4, "the streams should share steps (batched), got " + perStep + " tokens per step");
        assertTrue(sequential.stream().distinct().count() > 1, "prompts should not all give the same text");
    }
}
