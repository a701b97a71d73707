package dev.jlight.server;

import static dev.jlight.server.DisconnectTest.metric;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A client that gives up on a non-streamed request (which writes nothing until it is done) gets
 * it aborted: its KV blocks are freed instead of generating to max_tokens for nobody. Its own
 * server allows long completions, so that a request cannot finish before the client hangs up.
 */
class NonStreamedDisconnectTest {
    static final int MAX_TOKENS = 1000;
    static final String ABORT = "finished_reason=\"abort\"";
    static final String LENGTH = "finished_reason=\"length\"";

    private static OpenAiServer server;
    private static Http http;

    @BeforeAll
    static void start() {
        server = TestServers.start("--max-model-len", "1024", "--max-tokens-cap", String.valueOf(MAX_TOKENS));
        http = new Http(server, TestServers.KEY);
    }

    @AfterAll
    static void stop() {
        server.shutdown();
    }

    @Test
    void completionWhoseClientResetsIsAborted() throws Exception {
        ObjectNode req = long_().put("n", 2);
        req.putArray("prompt").add("The first client asked").add("The second client asked");
        dropMidway(CompletionsEndpoint.PATH, req, 4, true);
    }

    @Test
    void chatWhoseClientHangsUpIsAborted() throws Exception {
        ObjectNode req = long_().put("n", 2);
        req.putArray("messages").addObject().put("role", "user").put("content", "Tell me a long story.");
        dropMidway(ChatEndpoint.PATH, req, 2, false);
    }

    /** The watch gives the connection back when the request ends: keep-alive goes on. */
    @Test
    void connectionServesTheNextRequestAfterAWatchedOne() throws Exception {
        ObjectNode req = Http.obj().put("prompt", "Once upon a time").put("max_tokens", 4);
        try (Socket s = RawStream.send(server.port(), CompletionsEndpoint.PATH, req.toString(), TestServers.KEY)) {
            for (int i = 0; i < 2; i++) {
                if (i > 0) {
                    RawStream.write(s, CompletionsEndpoint.PATH, req.toString(), TestServers.KEY);
                }
                Response r = readResponse(s.getInputStream());
                assertEquals(4, Http.JSON.readTree(r.body()).path("usage").path("completion_tokens").asInt(), r.body());
                assertTrue(!r.closes(), "the connection stays open");
            }
        }
    }

    /**
     * Bytes that arrive while a request runs are a pipelined request, not a hang-up: the running
     * request finishes, and since the watch had to swallow the next one, the connection closes
     * after the first answer instead of leaving that request unanswered on a live connection.
     */
    @Test
    void pipelinedRequestIsNotTakenForAHangUp() throws Exception {
        ObjectNode req = Http.obj().put("prompt", "Once upon a time").put("max_tokens", 200).put("ignore_eos", true);
        double atLength = metric(http, "jlight:request_success_total", LENGTH);
        double generated = metric(http, "jlight:generation_tokens_total", null);
        try (Socket s = RawStream.send(server.port(), CompletionsEndpoint.PATH, req.toString(), TestServers.KEY)) {
            awaitTrue(() -> metric(http, "jlight:generation_tokens_total", null) > generated, "generation starts");
            RawStream.write(s, CompletionsEndpoint.PATH, req.toString(), TestServers.KEY);
            Response first = readResponse(s.getInputStream());
            assertEquals("length", Http.JSON.readTree(first.body()).path("choices").path(0).path("finish_reason")
                    .asText(), first.body());
            assertTrue(first.closes(), "the connection closes after the answer");
            assertEquals(-1, s.getInputStream().read(), "nothing follows the first answer");
        }
        assertEquals(1.0, metric(http, "jlight:request_success_total", LENGTH) - atLength);
    }

    private static ObjectNode long_() {
        return Http.obj().put("max_tokens", MAX_TOKENS).put("ignore_eos", true).put("temperature", 0.8);
    }

    /**
     * Sends a non-streamed request, drops the connection (a reset, or an orderly close) once the
     * engine is generating for it, and checks that every one of its {@code seqs} sequences ends as
     * "abort", none at max_tokens, and that nothing is left holding KV blocks.
     */
    private static void dropMidway(String path, ObjectNode req, int seqs, boolean reset) throws Exception {
        double aborted = metric(http, "jlight:request_success_total", ABORT);
        double atLength = metric(http, "jlight:request_success_total", LENGTH);
        double generated = metric(http, "jlight:generation_tokens_total", null);
        try (Socket s = RawStream.send(server.port(), path, req.toString(), TestServers.KEY)) {
            awaitTrue(() -> metric(http, "jlight:generation_tokens_total", null) > generated, "generation starts");
            if (reset) {
                s.setSoLinger(true, 0);
            }
        }
        awaitTrue(() -> metric(http, "jlight:num_requests_running", null) == 0
                && metric(http, "jlight:num_requests_waiting", null) == 0
                && metric(http, "jlight:kv_cache_usage_perc", null) == 0 && server.inFlight() == 0,
                "the engine lets go of the request");
        assertEquals(seqs, metric(http, "jlight:request_success_total", ABORT) - aborted,
                "each sequence was aborted when the client left");
        assertEquals(0.0, metric(http, "jlight:request_success_total", LENGTH) - atLength,
                "no sequence ran to max_tokens");
        assertTrue(metric(http, "jlight:generation_tokens_total", null) - generated < seqs * MAX_TOKENS);
    }

    @FunctionalInterface
    private interface Condition {
        boolean holds();
    }

    /** Generous: the CI machine is small and shared; a healthy run takes well under a second here. */
    private static void awaitTrue(Condition c, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!c.holds()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting until " + what);
            Thread.sleep(20);
        }
    }

    /** A response's body and whether it said {@code Connection: close}. */
    private record Response(String body, boolean closes) {
    }

    /** One 200 response with a Content-Length body, read to its end and no further. */
    private static Response readResponse(InputStream in) throws IOException {
        String status = RawStream.line(in);
        assertTrue(status != null && status.startsWith("HTTP/1.1 200"), "status " + status);
        int length = -1;
        boolean closes = false;
        for (String h = RawStream.line(in); !h.isEmpty(); h = RawStream.line(in)) {
            String lower = h.toLowerCase(Locale.ROOT);
            closes |= lower.startsWith("connection:") && lower.contains("close");
            if (lower.startsWith("content-length:")) {
                length = Integer.parseInt(h.substring(h.indexOf(':') + 1).trim());
            }
        }
        assertTrue(length > 0, "a Content-Length body");
        return new Response(new String(in.readNBytes(length), StandardCharsets.UTF_8), closes);
    }
}
