package dev.jlight.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

/** /health, /version, /v1/models, /tokenize, /detokenize and /metrics. */
class EndpointsTest {
    private final Http http = Http.shared();

    @Test
    void healthAndVersion() {
        Http.Response h = http.send("GET", "/health", null, null);
        assertEquals(200, h.status());
        assertEquals("", h.body());
        assertEquals(OpenAiServer.VERSION, http.get("/version").json().path("version").asText());
    }

    @Test
    void models() {
        JsonNode m = http.get("/v1/models").json();
        assertEquals("list", m.path("object").asText());
        JsonNode d = m.path("data").get(0);
        assertEquals(TestServers.MODEL, d.path("id").asText());
        assertEquals("model", d.path("object").asText());
        assertEquals(TestServers.MAX_MODEL_LEN, d.path("max_model_len").asInt());
        assertTrue(d.path("created").asLong() > 0);
        assertEquals("LlamaForCausalLM", d.path("architecture").asText(), "the demo model's config.json");
        assertEquals("llama", d.path("model_type").asText());
    }

    @Test
    void tokenizeAndDetokenizeRoundTrip() {
        JsonNode t = http.post("/tokenize", Http.obj().put("prompt", "The old man said.")).json();
        assertEquals(t.path("tokens").size(), t.path("count").asInt());
        assertEquals(TestServers.MAX_MODEL_LEN, t.path("max_model_len").asInt());
        assertEquals(0, t.path("tokens").get(0).asInt(), "BOS first with add_special_tokens (default)");
        JsonNode plain = http.post("/tokenize", Http.obj().put("prompt", "The old man said.")
                .put("add_special_tokens", false).put("return_token_strs", true)).json();
        assertEquals(t.path("count").asInt() - 1, plain.path("count").asInt());
        assertEquals(plain.path("count").asInt(), plain.path("token_strs").size());
        ObjectNode d = Http.obj();
        d.set("tokens", plain.path("tokens"));
        assertEquals("The old man said.", http.post("/detokenize", d).json().path("prompt").asText());

        ObjectNode chat = Http.obj().put("add_generation_prompt", true);
        chat.putArray("messages").addObject().put("role", "user").put("content", "Hi");
        JsonNode c = http.post("/tokenize", chat).json();
        ObjectNode back = Http.obj();
        back.set("tokens", c.path("tokens"));
        assertEquals("<|begin_of_text|><|user|>Hi<|end|>\n<|assistant|>", http.post("/detokenize", back).json()
                .path("prompt").asText());
    }

    @Test
    void metricsExposition() {
        http.post(CompletionsEndpoint.PATH, Http.obj().put("prompt", "Hello").put("max_tokens", 3));
        String text = http.get("/metrics").body();
        for (String name : new String[] {"jlight:num_requests_running", "jlight:num_requests_waiting",
            "jlight:kv_cache_usage_perc", "jlight:prefix_cache_queries_total", "jlight:prefix_cache_hits_total",
            "jlight:prompt_tokens_total", "jlight:generation_tokens_total", "jlight:request_success_total",
            "jlight:time_to_first_token_seconds_bucket", "jlight:time_per_output_token_seconds_bucket",
            "jlight:e2e_request_latency_seconds_bucket", "jlight:e2e_request_latency_seconds_count",
            "jlight:engine_steps_total", "jlight:engine_async_steps_total"}) {
            assertTrue(text.contains("\n" + name + "{model_name=\"" + TestServers.MODEL + "\""), name + " missing:\n" + text);
        }
        assertTrue(text.contains("# TYPE jlight:time_to_first_token_seconds histogram"));
        assertTrue(text.contains("finished_reason=\"length\""));
        assertTrue(DisconnectTest.metric(http, "jlight:prompt_tokens_total", null) > 0);
        assertTrue(DisconnectTest.metric(http, "jlight:e2e_request_latency_seconds_count", null) > 0);
        for (String line : text.split("\n")) {
            assertTrue(line.startsWith("#") || line.matches("[a-zA-Z_:][a-zA-Z0-9_:]*(\\{[^}]*\\})? -?[0-9.eE+-]+(Inf)?"), line);
        }
    }
}
