package dev.jlight.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every error the API promises: OpenAI's JSON shape, the right status and param, never a 500 or a stack trace. */
class ErrorsTest {
    private static Http http;

    @BeforeAll
    static void server() {
        http = Http.shared();
    }

    /** Checks the shape and returns the error object. */
    static JsonNode error(Http.Response r, int status) {
        assertEquals(status, r.status(), r.body());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"), r.headers().toString());
        assertNoStackTrace(r.body());
        JsonNode e = r.json().path("error");
        assertTrue(e.path("message").isTextual() && !e.path("message").asText().isEmpty(), r.body());
        assertTrue(e.path("type").isTextual(), r.body());
        assertTrue(e.has("param") && e.has("code"), "param and code are always present: " + r.body());
        return e;
    }

    static void assertNoStackTrace(String body) {
        assertFalse(body.contains("\tat ") || body.contains("at dev.jlight") || body.contains("at java.")
                || body.contains("Exception:"), "stack trace in a response: " + body);
    }

    static JsonNode badRequest(String path, String body, String param) {
        JsonNode e = error(http.post(path, body), 400);
        assertEquals("invalid_request_error", e.path("type").asText());
        if (param == null) {
            assertTrue(e.path("param").isNull(), e.toString());
        } else {
            assertEquals(param, e.path("param").asText(), e.toString());
        }
        return e;
    }

    static String chat(String extra) {
        return "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2" + extra + "}";
    }

    static String completion(String extra) {
        return "{\"prompt\":\"Hi\",\"max_tokens\":2" + extra + "}";
    }

    @Test
    void malformedBodies() {
        badRequest(CompletionsEndpoint.PATH, "{\"prompt\": ", null);
        badRequest(CompletionsEndpoint.PATH, "[1, 2]", null);
        badRequest(CompletionsEndpoint.PATH, "", null);
        badRequest(CompletionsEndpoint.PATH, "{\"prompt\":\"a\"} trailing", null);
        badRequest(ChatEndpoint.PATH, "not json", null);
    }

    @Test
    void wrongTypes() {
        badRequest(CompletionsEndpoint.PATH, completion(",\"temperature\":\"hot\""), "temperature");
        badRequest(CompletionsEndpoint.PATH, "{\"prompt\":\"Hi\",\"max_tokens\":\"5\"}", "max_tokens");
        badRequest(CompletionsEndpoint.PATH, completion(",\"stream\":1"), "stream");
        badRequest(CompletionsEndpoint.PATH, completion(",\"n\":1.5"), "n");
        badRequest(CompletionsEndpoint.PATH, completion(",\"stop\":[1]"), "stop");
        badRequest(CompletionsEndpoint.PATH, completion(",\"logit_bias\":[]"), "logit_bias");
        badRequest(CompletionsEndpoint.PATH, "{\"prompt\":{\"text\":\"Hi\"}}", "prompt");
        badRequest(CompletionsEndpoint.PATH, "{\"prompt\":[\"a\",[1,2]]}", "prompt");
        badRequest(CompletionsEndpoint.PATH, "{\"prompt\":[]}", "prompt");
        badRequest(CompletionsEndpoint.PATH, "{\"max_tokens\":2}", "prompt");
        badRequest(CompletionsEndpoint.PATH, completion(",\"model\":7"), "model");
        badRequest(ChatEndpoint.PATH, "{\"messages\":\"Hi\"}", "messages");
        badRequest(ChatEndpoint.PATH, "{\"messages\":[{\"role\":\"user\",\"content\":5}]}", "messages[0].content");
        badRequest(ChatEndpoint.PATH, "{\"messages\":[{\"content\":\"Hi\"}]}", "messages[0].role");
        badRequest(ChatEndpoint.PATH, "{\"messages\":[]}", "messages");
        badRequest(ChatEndpoint.PATH, chat(",\"logprobs\":3"), "logprobs");
        badRequest(ChatEndpoint.PATH, chat(",\"stream_options\":{\"include_usage\":true}"), "stream_options");
    }

    @Test
    void outOfRangeValuesNameTheirParam() {
        badRequest(CompletionsEndpoint.PATH, completion(",\"temperature\":-1"), "temperature");
        badRequest(CompletionsEndpoint.PATH, completion(",\"top_p\":1.5"), "top_p");
        badRequest(CompletionsEndpoint.PATH, completion(",\"top_k\":-2"), "top_k");
        badRequest(CompletionsEndpoint.PATH, completion(",\"min_p\":2"), "min_p");
        badRequest(CompletionsEndpoint.PATH, completion(",\"presence_penalty\":3"), "presence_penalty");
        badRequest(CompletionsEndpoint.PATH, completion(",\"frequency_penalty\":-2.5"), "frequency_penalty");
        badRequest(CompletionsEndpoint.PATH, completion(",\"repetition_penalty\":0"), "repetition_penalty");
        badRequest(CompletionsEndpoint.PATH, completion(",\"n\":0"), "n");
        badRequest(CompletionsEndpoint.PATH, "{\"prompt\":\"Hi\",\"max_tokens\":0}", "max_tokens");
        badRequest(CompletionsEndpoint.PATH, completion(",\"min_tokens\":5"), "min_tokens");
        badRequest(CompletionsEndpoint.PATH, completion(",\"logit_bias\":{\"1\":101}"), "logit_bias");
        badRequest(CompletionsEndpoint.PATH, completion(",\"logit_bias\":{\"99999\":1}"), "logit_bias");
        badRequest(CompletionsEndpoint.PATH, completion(",\"logit_bias\":{\"x\":1}"), "logit_bias");
        badRequest(CompletionsEndpoint.PATH, completion(",\"stop_token_ids\":[99999]"), "stop_token_ids");
        badRequest(CompletionsEndpoint.PATH, completion(",\"stop\":[\"\"]"), "stop");
        badRequest(CompletionsEndpoint.PATH, "{\"prompt\":[1, 99999],\"max_tokens\":2}", "prompt");
        badRequest(CompletionsEndpoint.PATH, "{\"prompt\":[1, -3],\"max_tokens\":2}", "prompt");
        badRequest(ChatEndpoint.PATH, chat(",\"top_logprobs\":2"), "top_logprobs");
    }

    @Test
    void serverCapsAreEnforced() {
        badRequest(CompletionsEndpoint.PATH, completion(",\"n\":" + (TestServers.MAX_N + 1)), "n");
        badRequest(CompletionsEndpoint.PATH, "{\"prompt\":\"Hi\",\"max_tokens\":" + (TestServers.MAX_TOKENS_CAP + 1) + "}",
                "max_tokens");
        badRequest(ChatEndpoint.PATH, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_completion_tokens\":"
                + (TestServers.MAX_TOKENS_CAP + 1) + "}", "max_completion_tokens");
        badRequest(CompletionsEndpoint.PATH, completion(",\"min_tokens\":" + (TestServers.MAX_TOKENS_CAP + 1)),
                "min_tokens");
        badRequest(CompletionsEndpoint.PATH, completion(",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]"), "stop");
        badRequest(ChatEndpoint.PATH, chat(",\"logprobs\":true,\"top_logprobs\":" + (TestServers.MAX_LOGPROBS + 1)),
                "top_logprobs");
        badRequest(CompletionsEndpoint.PATH, completion(",\"logprobs\":" + (TestServers.MAX_LOGPROBS + 1)), "logprobs");
    }

    @Test
    void promptTooLongSaysBothLengths() {
        String words = "the man said that it was ".repeat(60);
        int len = http.post("/tokenize", Http.obj().put("prompt", words)).json().path("count").asInt();
        assertTrue(len > TestServers.MAX_MODEL_LEN, "test prompt too short: " + len);
        JsonNode e = badRequest(CompletionsEndpoint.PATH, Http.obj().put("prompt", words).put("max_tokens", 4).toString(),
                "prompt");
        assertTrue(e.path("message").asText().contains(String.valueOf(TestServers.MAX_MODEL_LEN))
                && e.path("message").asText().contains(String.valueOf(len)), e.toString());
        ObjectNode chat = Http.obj();
        chat.putArray("messages").addObject().put("role", "user").put("content", words);
        e = badRequest(ChatEndpoint.PATH, chat.toString(), "messages");
        assertTrue(e.path("message").asText().contains(String.valueOf(TestServers.MAX_MODEL_LEN)), e.toString());

        // fits alone, but not with max_tokens
        String medium = "the man said that it was ".repeat(30);
        int mediumLen = http.post("/tokenize", Http.obj().put("prompt", medium)).json().path("count").asInt();
        int maxTokens = TestServers.MAX_MODEL_LEN - mediumLen + 1;
        assertTrue(mediumLen < TestServers.MAX_MODEL_LEN && maxTokens <= TestServers.MAX_TOKENS_CAP, "" + mediumLen);
        e = badRequest(CompletionsEndpoint.PATH, Http.obj().put("prompt", medium).put("max_tokens", maxTokens).toString(),
                "max_tokens");
        String m = e.path("message").asText();
        assertTrue(m.contains(String.valueOf(TestServers.MAX_MODEL_LEN)) && m.contains(String.valueOf(mediumLen))
                && m.contains(String.valueOf(maxTokens)), m);
    }

    @Test
    void authentication() {
        for (String key : new String[] {null, "wrong", "test-key-and-more", ""}) {
            JsonNode e = error(http.send("GET", "/v1/models", null, key), 401);
            assertEquals("invalid_api_key", e.path("code").asText());
            error(http.send("POST", CompletionsEndpoint.PATH, completion(""), key), 401);
            error(http.send("GET", "/metrics", null, key), 401);
            error(http.send("POST", "/tokenize", "{\"prompt\":\"a\"}", key), 401);
        }
        assertEquals(200, http.send("GET", "/health", null, null).status(), "/health needs no key");
        assertEquals(200, http.send("GET", "/v1/models", null, TestServers.KEY).status());
    }

    @Test
    void unknownModelIs404() {
        JsonNode e = error(http.post(CompletionsEndpoint.PATH, completion(",\"model\":\"gpt-4\"")), 404);
        assertEquals("model_not_found", e.path("code").asText());
        assertEquals("model", e.path("param").asText());
        error(http.post(ChatEndpoint.PATH, chat(",\"model\":\"gpt-4\"")), 404);
        error(http.post("/tokenize", "{\"model\":\"x\",\"prompt\":\"a\"}"), 404);
        assertEquals(200, http.post(CompletionsEndpoint.PATH, completion(",\"model\":\"" + TestServers.MODEL + "\""))
                .status());
    }

    @Test
    void unknownPathsAndMethods() {
        error(http.get("/v1/nope"), 404);
        error(http.post("/v1/embeddings", "{}"), 404);
        error(http.send("GET", ChatEndpoint.PATH, null, TestServers.KEY), 405);
        error(http.send("GET", CompletionsEndpoint.PATH, null, TestServers.KEY), 405);
        error(http.send("POST", "/v1/models", "{}", TestServers.KEY), 405);
        error(http.send("DELETE", "/metrics", null, TestServers.KEY), 405);
    }

    @Test
    void bodyTooLargeIs413() {
        String big = "{\"prompt\":\"" + "a".repeat(TestServers.MAX_BODY) + "\"}";
        JsonNode e = error(http.postExpectContinue(CompletionsEndpoint.PATH, big), 413);
        assertTrue(e.path("message").asText().contains(String.valueOf(TestServers.MAX_BODY)), e.toString());
        assertEquals(200, http.post(CompletionsEndpoint.PATH, completion("")).status(), "the server goes on");
    }

    @Test
    void unsupportedFeaturesAreRejectedClearly() {
        badRequest(ChatEndpoint.PATH, chat(",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]"), "tools");
        badRequest(ChatEndpoint.PATH, chat(",\"response_format\":{\"type\":\"json_object\"}"), "response_format");
        badRequest(ChatEndpoint.PATH, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
                + "\"image_url\":{\"url\":\"x\"}}]}]}", "messages[0].content[0].type");
        badRequest(ChatEndpoint.PATH, chat(",\"continue_final_message\":true"), "continue_final_message");
        badRequest(ChatEndpoint.PATH, "{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", "messages");
        badRequest(CompletionsEndpoint.PATH, completion(",\"suffix\":\"end\""), "suffix");
        badRequest(CompletionsEndpoint.PATH, completion(",\"echo\":true,\"logprobs\":1"), "echo");
        badRequest(CompletionsEndpoint.PATH, completion(",\"best_of\":3"), "best_of");
        badRequest(CompletionsEndpoint.PATH, completion(",\"use_beam_search\":true"), "use_beam_search");
        badRequest(CompletionsEndpoint.PATH, completion(",\"guided_json\":{}"), "guided_json");
    }

    @Test
    void unknownAndIgnoredFieldsAreAccepted() {
        Http.Response r = http.post(ChatEndpoint.PATH, chat(",\"frobnicate\":{\"a\":1},\"user\":\"u1\",\"store\":true,"
                + "\"metadata\":{\"k\":\"v\"},\"response_format\":{\"type\":\"text\"},\"tool_choice\":\"none\""));
        assertEquals(200, r.status(), r.body());
    }

    /** Any JSON value in any field: 200 or 400, never a 500. */
    @Test
    void neverA500ForBadInput() {
        List<String> fields = List.of("model", "prompt", "messages", "max_tokens", "temperature", "top_p", "top_k",
                "min_p", "n", "stop", "seed", "logprobs", "top_logprobs", "logit_bias", "presence_penalty",
                "frequency_penalty", "repetition_penalty", "min_tokens", "stop_token_ids", "ignore_eos",
                "skip_special_tokens", "include_stop_str_in_output", "echo", "stream_options", "stream",
                "add_generation_prompt", "chat_template_kwargs", "continue_final_message", "truncate_prompt_tokens",
                "return_tokens_as_token_ids", "documents", "max_completion_tokens", "best_of");
        String[] values = {"null", "true", "\"x\"", "-1", "2.5", "[]", "{}", "[1,\"a\"]", "1e300", "99999999999"};
        for (String path : List.of(CompletionsEndpoint.PATH, ChatEndpoint.PATH)) {
            for (String f : fields) {
                for (String v : values) {
                    ObjectNode base = (ObjectNode) Http.JSON.valueToTree(java.util.Map.of("max_tokens", 2));
                    if (path.equals(ChatEndpoint.PATH)) {
                        base.putArray("messages").addObject().put("role", "user").put("content", "Hi");
                    } else {
                        base.put("prompt", "Hi");
                    }
                    if ((f.equals("max_tokens") || f.equals("max_completion_tokens")) && !v.startsWith("-")) {
                        base.put("ignore_eos", false);
                    }
                    String body;
                    try {
                        base.set(f, Http.JSON.readTree(v));
                        body = base.toString();
                    } catch (java.io.IOException e) {
                        throw new AssertionError(e);
                    }
                    if (f.equals("stream") && v.equals("true")) {
                        continue;
                    }
                    Http.Response r = http.post(path, body);
                    assertTrue(r.status() == 200 || r.status() == 400 || r.status() == 404,
                            path + " " + f + "=" + v + ": " + r.status() + " " + r.body());
                    assertNoStackTrace(r.body());
                }
            }
        }
    }

    @Test
    void tokenizeErrors() {
        badRequest("/tokenize", "{}", "prompt");
        badRequest("/tokenize", "{\"prompt\":5}", "prompt");
        badRequest("/detokenize", "{\"tokens\":[1,\"a\"]}", "tokens");
        badRequest("/detokenize", "{\"tokens\":[999999]}", "tokens");
        badRequest("/detokenize", "{}", "tokens");
    }
}
