package dev.jlight.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jlight.core.JLightException;
import dev.jlight.core.engine.EngineOptions;
import dev.jlight.server.cli.ServeCommand;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Servers of their own: start-up checks, 503 when full, graceful shutdown. */
class LifecycleTest {

    static ObjectNode longStream(int maxTokens) {
        return Http.obj().put("prompt", "The long story of the old man").put("max_tokens", maxTokens)
                .put("ignore_eos", true).put("stream", true);
    }

    @Test
    void unsupportedFlagsAreRejectedBeforeLoading() {
        String[][] bad = {{"--tensor-parallel-size", "2"}, {"--quantization", "awq"}, {"--dtype", "float16"},
            {"--device", "tpu"}, {"--max-model-len", "4096"}, {"--kv-cache-memory", "12 parsecs"},
            {"--load-format", "gguf"}, {"--kv-cache-memory", "1KiB"}, {"--model", "/no/such/model"},
            {"--chat-template", "/no/such/template.jinja"}, {"--max-n", "0"}};
        for (String[] flag : bad) {
            JLightException e = assertThrows(JLightException.class, () -> TestServers.start(flag), String.join(" ", flag));
            assertTrue(e.getMessage().contains(flag[0]) || e.getMessage().contains("max_position_embeddings")
                    || e.getMessage().contains("KV cache"), e.getMessage());
        }
        assertEquals(true, ServeCommand.parse("--no-enable-prefix-caching").runtimeOptions().enablePrefixCaching() == false);
        assertEquals(false, ServeCommand.parse("--no-async-scheduling").runtimeOptions().asyncScheduling());
        assertEquals(true, ServeCommand.parse("--async-scheduling").runtimeOptions().asyncScheduling());
        assertEquals(EngineOptions.defaultAsyncScheduling(), ServeCommand.parse().runtimeOptions().asyncScheduling());
    }

    @Test
    void inlineChatTemplateAndPromptTruncation() throws Exception {
        OpenAiServer server = TestServers.start("--chat-template",
                "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}"
                        + "assistant:{% endif %}", "--served-model-name", "a", "b");
        try {
            Http http = new Http(server, TestServers.KEY);
            ObjectNode req = Http.obj().put("model", "b");
            req.putArray("messages").addObject().put("role", "user").put("content", "Hi");
            JsonNode tokens = http.post("/tokenize", req).json().path("tokens");
            JsonNode text = http.post("/detokenize", Http.obj().set("tokens", tokens)).json();
            assertEquals("user: Hi\nassistant:", text.path("prompt").asText());
            JsonNode models = http.get("/v1/models").json().path("data");
            assertEquals(2, models.size());
            ObjectNode chat = req.deepCopy().put("max_tokens", 2).put("truncate_prompt_tokens", 3);
            JsonNode r = http.post(ChatEndpoint.PATH, chat).json();
            assertEquals("b", r.path("model").asText(), "the name the request used");
            assertEquals(3, r.path("usage").path("prompt_tokens").asInt());
        } finally {
            server.shutdown();
        }
    }

    @Test
    void cudaDeviceIsOptionalAndSaysWhyNot() {
        try {
            OpenAiServer gpu = TestServers.start("--device", "cuda", "--kv-cache-memory", "64MiB");
            gpu.shutdown();                     // a machine with a GPU: it simply works
        } catch (JLightException e) {
            assertTrue(e.getMessage().startsWith("--device cuda: "), e.getMessage());
        }
    }

    @Test
    void fullServerAnswers503AndRecovers() throws Exception {
        OpenAiServer server = TestServers.start("--max-num-seqs", "1", "--max-waiting-requests", "0");
        try {
            Http http = new Http(server, TestServers.KEY);
            try (RawStream busy = RawStream.post(server.port(), CompletionsEndpoint.PATH, longStream(120).toString(),
                    TestServers.KEY)) {
                assertEquals(200, busy.status());
                busy.nextEvent();
                Http.Response r = http.post(CompletionsEndpoint.PATH, Http.obj().put("prompt", "Hi").put("max_tokens", 2));
                JsonNode e = ErrorsTest.error(r, 503);
                assertEquals("overloaded", e.path("code").asText());
                assertTrue(r.headers().firstValue("retry-after").isPresent());
                ErrorsTest.error(http.post(ChatEndpoint.PATH, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"),
                        503);
                assertEquals(2.0, DisconnectTest.metric(http, "jlight:request_rejected_total", null));
                busy.abort();
            }
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (server.inFlight() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            Http.Response ok = http.post(CompletionsEndpoint.PATH, Http.obj().put("prompt", "Hi").put("max_tokens", 2));
            assertEquals(200, ok.status(), ok.body());
        } finally {
            server.shutdown();
        }
    }

    @Test
    void gracefulShutdownFinishesShortStreamsAndAbortsLongOnes() throws Exception {
        OpenAiServer server = TestServers.start("--shutdown-timeout", "0.5", "--max-tokens-cap", "240");
        int port = server.port();
        Http http = new Http(server, TestServers.KEY);
        RawStream shortOne = RawStream.post(port, CompletionsEndpoint.PATH, longStream(6).toString(), TestServers.KEY);
        RawStream longOne = RawStream.post(port, CompletionsEndpoint.PATH, longStream(240).toString(),
                TestServers.KEY);
        try (shortOne; longOne) {
            assertEquals(200, shortOne.status());
            assertEquals(200, longOne.status());
            shortOne.nextEvent();
            longOne.nextEvent();
            CompletableFuture<Void> stopping = CompletableFuture.runAsync(server::shutdown);
            long deadline = System.nanoTime() + 5_000_000_000L;
            Http.Response refused = null;
            while (System.nanoTime() < deadline) {
                try {
                    refused = http.post(CompletionsEndpoint.PATH, Http.obj().put("prompt", "Hi").put("max_tokens", 2));
                } catch (UncheckedIOException e) {
                    break;                          // already closed: also a refusal
                }
                if (refused.status() == 503) {
                    break;
                }
            }
            if (refused != null && refused.status() != 200) {
                ErrorsTest.error(refused, 503);
            }
            assertEquals("length", finishReason(shortOne.readAll()), "a short stream finishes within the grace period");
            assertEquals("abort", finishReason(longOne.readAll()), "a long stream is aborted after the grace period");
            stopping.get();
        }
        assertThrows(ConnectException.class, () -> {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            }
        }, "the port is closed after shutdown");
    }

    private static String finishReason(List<String> events) throws IOException {
        assertEquals("[DONE]", events.getLast(), "the stream ends properly: " + events);
        JsonNode last = Http.JSON.readTree(events.get(events.size() - 2));
        return last.path("choices").path(0).path("finish_reason").asText();
    }
}
