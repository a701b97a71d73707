package dev.jlight.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** A client that drops its stream aborts the request: its KV blocks are freed and nothing keeps running. */
class DisconnectTest {
    static final int STREAMS = 12;
    static final int MAX_TOKENS = 120;

    /** A sample of GET /metrics, e.g. {@code jlight:num_requests_running} or a labelled counter. */
    static double metric(Http http, String name, String label) {
        Http.Response r = http.get("/metrics");
        assertEquals(200, r.status());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/plain"));
        for (String line : r.body().split("\n")) {
            if (line.startsWith(name + "{") && (label == null || line.contains(label))) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new AssertionError("no " + name + " " + label + " in\n" + r.body());
    }

    @Test
    void droppedStreamsAreAbortedAndFreeTheirBlocks() throws Exception {
        OpenAiServer server = TestServers.shared();
        Http http = Http.shared();
        double abortedBefore = metric(http, "jlight:request_success_total", "finished_reason=\"abort\"");
        double lengthBefore = metric(http, "jlight:request_success_total", "finished_reason=\"length\"");
        List<Future<String>> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < STREAMS; i++) {
                int k = i;
                results.add(pool.submit(() -> {
                    ObjectNode req = Http.obj().put("prompt", "Client " + k + " asked the man about")
                            .put("max_tokens", MAX_TOKENS).put("ignore_eos", true).put("temperature", 0.8)
                            .put("stream", true);
                    try (RawStream s = RawStream.post(server.port(), CompletionsEndpoint.PATH, req.toString(),
                            TestServers.KEY)) {
                        assertEquals(200, s.status());
                        for (int e = 0; e < 3; e++) {
                            JsonNode chunk = Http.JSON.readTree(s.nextEvent());
                            assertTrue(chunk.path("choices").path(0).path("finish_reason").isNull());
                        }
                        if (k % 2 == 0) {
                            s.abort();          // half of the clients vanish mid-stream
                            return "aborted";
                        }
                        List<String> rest = s.readAll();
                        assertEquals("[DONE]", rest.getLast());
                        JsonNode last = Http.JSON.readTree(rest.get(rest.size() - 2));
                        return last.path("choices").path(0).path("finish_reason").asText();
                    }
                }));
            }
            for (int i = 0; i < STREAMS; i++) {
                assertEquals(i % 2 == 0 ? "aborted" : "length", results.get(i).get(), "stream " + i);
            }
        }
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < deadline && (metric(http, "jlight:num_requests_running", null) > 0
                || metric(http, "jlight:kv_cache_usage_perc", null) > 0 || server.inFlight() > 0)) {
            Thread.sleep(50);
        }
        assertEquals(0.0, metric(http, "jlight:num_requests_running", null), "nothing runs");
        assertEquals(0.0, metric(http, "jlight:num_requests_waiting", null), "nothing waits");
        assertEquals(0.0, metric(http, "jlight:kv_cache_usage_perc", null), "every KV block is free");
        assertEquals(0, server.inFlight());
        assertEquals(STREAMS / 2, metric(http, "jlight:request_success_total", "finished_reason=\"abort\"")
                - abortedBefore, "each dropped stream was aborted, not run to max_tokens");
        assertEquals(STREAMS / 2, metric(http, "jlight:request_success_total", "finished_reason=\"length\"")
                - lengthBefore);
    }
}
