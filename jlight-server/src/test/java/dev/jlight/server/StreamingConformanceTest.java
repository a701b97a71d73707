package dev.jlight.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** SSE framing and OpenAI's streaming rules, over raw HTTP, against the same requests not streamed. */
class StreamingConformanceTest {
    private static Http http = Http.shared();

    /** Per choice index: the streamed text, finish reason and how many chunks carried a finish reason. */
    record Streamed(Map<Integer, String> text, Map<Integer, String> finish, JsonNode usage, List<JsonNode> chunks) {
    }

    static ObjectNode chat(String user, int maxTokens) {
        ObjectNode r = Http.obj().put("model", TestServers.MODEL).put("max_tokens", maxTokens);
        r.putArray("messages").addObject().put("role", "user").put("content", user);
        return r;
    }

    static ObjectNode completion(String prompt, int maxTokens) {
        return Http.obj().put("model", TestServers.MODEL).put("prompt", prompt).put("max_tokens", maxTokens);
    }

    /** Checks every rule on a streamed response and folds it. */
    static Streamed stream(String path, ObjectNode request) {
        request.put("stream", true);
        boolean chat = path.contains("chat");
        List<JsonNode> chunks = http.post(path, request).chunks();
        Map<Integer, StringBuilder> text = new TreeMap<>();
        Map<Integer, String> finish = new TreeMap<>();
        Map<Integer, Integer> seen = new TreeMap<>();
        JsonNode usage = null;
        String id = chunks.getFirst().path("id").asText();
        assertTrue(id.startsWith(chat ? "chatcmpl-" : "cmpl-"), id);
        for (int k = 0; k < chunks.size(); k++) {
            JsonNode c = chunks.get(k);
            assertEquals(id, c.path("id").asText(), "one id per stream");
            assertEquals(chat ? "chat.completion.chunk" : "text_completion", c.path("object").asText());
            assertEquals(TestServers.MODEL, c.path("model").asText());
            assertTrue(c.path("created").asLong() > 1_700_000_000L);
            assertNull(usage, "nothing may follow the usage chunk");
            if (c.has("usage") && !c.get("usage").isNull()) {
                assertEquals(0, c.path("choices").size(), "the usage chunk has empty choices");
                usage = c.get("usage");
                continue;
            }
            assertEquals(1, c.path("choices").size(), c.toString());
            JsonNode choice = c.path("choices").get(0);
            int index = choice.path("index").asInt();
            assertFalse(finish.containsKey(index), "a chunk after the finish of choice " + index + ": " + c);
            if (chat) {
                JsonNode delta = choice.path("delta");
                if (!seen.containsKey(index)) {
                    assertEquals("assistant", delta.path("role").asText(), "first chunk of a choice carries the role");
                } else {
                    assertFalse(delta.has("role"), "only the first chunk carries the role");
                }
                text.computeIfAbsent(index, i -> new StringBuilder()).append(delta.path("content").asText(""));
            } else {
                text.computeIfAbsent(index, i -> new StringBuilder()).append(choice.path("text").asText());
            }
            seen.merge(index, 1, Integer::sum);
            if (!choice.path("finish_reason").isNull()) {
                finish.put(index, choice.path("finish_reason").asText());
            }
        }
        assertEquals(text.keySet(), finish.keySet(), "every choice ends with exactly one finish_reason");
        Map<Integer, String> texts = new TreeMap<>();
        text.forEach((i, b) -> texts.put(i, b.toString()));
        return new Streamed(texts, finish, usage, chunks);
    }

    private static void assertNull(Object o, String message) {
        assertTrue(o == null, message);
    }

    static JsonNode plain(String path, ObjectNode request) {
        request.put("stream", false);
        Http.Response r = http.post(path, request);
        assertEquals(200, r.status(), r.body());
        return r.json();
    }

    static Map<Integer, String> texts(JsonNode response, boolean chat) {
        Map<Integer, String> out = new TreeMap<>();
        for (JsonNode c : response.path("choices")) {
            out.put(c.path("index").asInt(), chat ? c.path("message").path("content").asText()
                    : c.path("text").asText());
        }
        return out;
    }

    static Map<Integer, String> finishes(JsonNode response) {
        Map<Integer, String> out = new TreeMap<>();
        for (JsonNode c : response.path("choices")) {
            out.put(c.path("index").asInt(), c.path("finish_reason").asText());
        }
        return out;
    }

    @Test
    void chatStreamEqualsNonStreamWithUsageLastAndOwnIndexes() {
        ObjectNode req = chat("Tell me about the city.", 24).put("n", 3).put("seed", 11).put("temperature", 0.9);
        req.putObject("stream_options").put("include_usage", true);
        Streamed s = stream(ChatEndpoint.PATH, req.deepCopy());
        JsonNode p = plain(ChatEndpoint.PATH, req.deepCopy().without("stream_options"));
        assertEquals(texts(p, true), s.text());
        assertEquals(finishes(p), s.finish());
        assertEquals(List.of(0, 1, 2), new ArrayList<>(s.text().keySet()));
        assertNotNull(s.usage(), "include_usage: a final usage chunk");
        assertEquals(p.path("usage"), s.usage());
        assertTrue(s.chunks().getLast().has("usage"), "usage is the last chunk");
        for (JsonNode c : s.chunks().subList(0, s.chunks().size() - 1)) {
            assertFalse(c.has("usage") && !c.get("usage").isNull(), "usage only in the final chunk: " + c);
        }
        assertEquals("chat.completion", p.path("object").asText());
        assertTrue(p.path("id").asText().startsWith("chatcmpl-"));
        assertEquals("assistant", p.path("choices").get(0).path("message").path("role").asText());
    }

    @Test
    void withoutIncludeUsageNoUsageChunk() {
        Streamed s = stream(ChatEndpoint.PATH, chat("Hello.", 6).put("temperature", 0));
        assertNull(s.usage(), "no usage without include_usage");
    }

    @Test
    void completionsStreamEqualsNonStreamForPromptListsAndN() {
        ObjectNode req = Http.obj().put("model", TestServers.MODEL).put("max_tokens", 16).put("n", 2)
                .put("seed", 5).put("temperature", 0.7);
        req.putArray("prompt").add("The old man").add("In the morning");
        req.putObject("stream_options").put("include_usage", true);
        Streamed s = stream(CompletionsEndpoint.PATH, req.deepCopy());
        JsonNode p = plain(CompletionsEndpoint.PATH, req.deepCopy().without("stream_options"));
        assertEquals(List.of(0, 1, 2, 3), new ArrayList<>(texts(p, false).keySet()), "index = prompt * n + i");
        assertEquals(texts(p, false), s.text());
        assertEquals(finishes(p), s.finish());
        assertEquals(p.path("usage"), s.usage());
        assertEquals("text_completion", p.path("object").asText());
        assertTrue(p.path("id").asText().startsWith("cmpl-"));
    }

    @Test
    void greedyIsDeterministicAndSeedReproduces() {
        JsonNode a = plain(CompletionsEndpoint.PATH, completion("She said that", 20).put("temperature", 0));
        JsonNode b = plain(CompletionsEndpoint.PATH, completion("She said that", 20).put("temperature", 0));
        assertEquals(texts(a, false), texts(b, false));
        JsonNode c = plain(CompletionsEndpoint.PATH, completion("She said that", 20).put("seed", 3));
        JsonNode d = plain(CompletionsEndpoint.PATH, completion("She said that", 20).put("seed", 3));
        assertEquals(texts(c, false), texts(d, false));
    }

    @Test
    void stopStringAcrossTokensNeverLeaks() {
        ObjectNode probe = completion("The house was", 30).put("temperature", 0).put("logprobs", 0)
                .put("ignore_eos", true);
        JsonNode full = plain(CompletionsEndpoint.PATH, probe).path("choices").get(0);
        String text = full.path("text").asText();
        ArrayNode tokens = (ArrayNode) full.path("logprobs").path("tokens");
        assertEquals(30, tokens.size());
        // a stop string made of the end of one token and the start of the next
        String stop = null;
        int offset = 0;
        for (int k = 2; k + 1 < tokens.size() && stop == null; k++) {
            String a = tokens.get(k).asText();
            String b = tokens.get(k + 1).asText();
            offset = full.path("logprobs").path("text_offset").get(k).asInt();
            if (a.length() >= 2 && b.length() >= 2) {
                stop = a.substring(a.length() - 2) + b.substring(0, 2);
            }
        }
        assertNotNull(stop, "no two long tokens in a row: " + tokens);
        String expected = text.substring(0, text.indexOf(stop));
        assertTrue(text.indexOf(stop) <= offset + 2);

        ObjectNode req = completion("The house was", 30).put("temperature", 0).put("stop", stop);
        JsonNode p = plain(CompletionsEndpoint.PATH, req.deepCopy()).path("choices").get(0);
        assertEquals(expected, p.path("text").asText());
        assertEquals("stop", p.path("finish_reason").asText());
        assertEquals(stop, p.path("stop_reason").asText());
        Streamed s = stream(CompletionsEndpoint.PATH, req.deepCopy());
        assertEquals(expected, s.text().get(0), "streamed text is only appended: a leaked stop string would show");
        assertFalse(s.text().get(0).contains(stop));
        ObjectNode keep = req.deepCopy().put("include_stop_str_in_output", true);
        assertEquals(expected + stop, plain(CompletionsEndpoint.PATH, keep).path("choices").get(0).path("text").asText());
    }

    @Test
    void stopTokenIdsAndIgnoreEosAndMinTokens() {
        JsonNode probe = plain(CompletionsEndpoint.PATH, completion("It was", 12).put("temperature", 0)
                .put("logprobs", 0).put("return_tokens_as_token_ids", true).put("ignore_eos", true))
                .path("choices").get(0);
        int third = Integer.parseInt(probe.path("logprobs").path("tokens").get(2).asText().substring("token_id:".length()));
        ObjectNode req = completion("It was", 12).put("temperature", 0);
        req.putArray("stop_token_ids").add(third);
        JsonNode p = plain(CompletionsEndpoint.PATH, req);
        JsonNode c = p.path("choices").get(0);
        assertEquals("stop", c.path("finish_reason").asText());
        assertEquals(third, c.path("stop_reason").asInt());
        assertTrue(p.path("usage").path("completion_tokens").asInt() <= 3, p.toString());

        JsonNode longer = plain(CompletionsEndpoint.PATH, completion("It was", 40).put("temperature", 0)
                .put("ignore_eos", true));
        assertEquals(40, longer.path("usage").path("completion_tokens").asInt());
        assertEquals("length", longer.path("choices").get(0).path("finish_reason").asText());
    }

    @Test
    void echoAndTokenIdPrompts() {
        JsonNode echo = plain(CompletionsEndpoint.PATH, completion("The old man", 8).put("temperature", 0)
                .put("echo", true));
        JsonNode plainText = plain(CompletionsEndpoint.PATH, completion("The old man", 8).put("temperature", 0));
        String generated = plainText.path("choices").get(0).path("text").asText();
        assertEquals("The old man" + generated, echo.path("choices").get(0).path("text").asText());

        JsonNode tok = http.post("/tokenize", Http.obj().put("prompt", "The old man")).json();
        ObjectNode byIds = Http.obj().put("max_tokens", 8).put("temperature", 0);
        byIds.set("prompt", tok.path("tokens"));
        assertEquals(generated, plain(CompletionsEndpoint.PATH, byIds).path("choices").get(0).path("text").asText());
        ObjectNode byIdLists = Http.obj().put("max_tokens", 8).put("temperature", 0);
        byIdLists.putArray("prompt").add(tok.path("tokens")).add(tok.path("tokens"));
        JsonNode two = plain(CompletionsEndpoint.PATH, byIdLists);
        assertEquals(2, two.path("choices").size());
        assertEquals(generated, two.path("choices").get(1).path("text").asText());
        assertEquals(2 * tok.path("count").asInt(), two.path("usage").path("prompt_tokens").asInt());

        Streamed s = stream(CompletionsEndpoint.PATH, completion("The old man", 8).put("temperature", 0).put("echo", true));
        assertEquals("The old man" + generated, s.text().get(0));
    }

    @Test
    void completionLogprobsLineUpWithTheText() {
        ObjectNode req = completion("The old man", 10).put("temperature", 0).put("logprobs", 3);
        JsonNode c = plain(CompletionsEndpoint.PATH, req.deepCopy()).path("choices").get(0);
        JsonNode lp = c.path("logprobs");
        int n = lp.path("tokens").size();
        assertEquals(10, n);
        assertEquals(n, lp.path("token_logprobs").size());
        assertEquals(n, lp.path("top_logprobs").size());
        assertEquals(n, lp.path("text_offset").size());
        StringBuilder joined = new StringBuilder();
        for (int i = 0; i < n; i++) {
            assertEquals(joined.length(), lp.path("text_offset").get(i).asInt());
            joined.append(lp.path("tokens").get(i).asText());
            double chosen = lp.path("token_logprobs").get(i).asDouble();
            assertTrue(chosen <= 0);
            JsonNode top = lp.path("top_logprobs").get(i);
            assertTrue(top.size() >= 3 && top.size() <= 4, top.toString());
            double best = Double.NEGATIVE_INFINITY;
            for (JsonNode v : top) {
                best = Math.max(best, v.asDouble());
            }
            assertEquals(best, chosen, 1e-6, "greedy picks the most likely token");
        }
        assertEquals(c.path("text").asText(), joined.toString());

        Streamed s = stream(CompletionsEndpoint.PATH, req.deepCopy());
        List<Integer> offsets = new ArrayList<>();
        for (JsonNode ch : s.chunks()) {
            for (JsonNode o : ch.path("choices").path(0).path("logprobs").path("text_offset")) {
                offsets.add(o.asInt());
            }
        }
        List<Integer> expected = new ArrayList<>();
        lp.path("text_offset").forEach(o -> expected.add(o.asInt()));
        assertEquals(expected, offsets, "streamed text offsets continue across chunks");
    }

    @Test
    void chatLogprobsAndContentParts() {
        ObjectNode req = Http.obj().put("max_completion_tokens", 6).put("temperature", 0).put("logprobs", true)
                .put("top_logprobs", 2);
        ArrayNode msgs = req.putArray("messages");
        msgs.addObject().put("role", "system").put("content", "Be brief.");
        ObjectNode user = msgs.addObject().put("role", "user");
        user.putArray("content").addObject().put("type", "text").put("text", "Hello");
        JsonNode whole = plain(ChatEndpoint.PATH, req);
        JsonNode c = whole.path("choices").get(0);
        JsonNode content = c.path("logprobs").path("content");
        assertEquals(whole.path("usage").path("completion_tokens").asInt(), content.size(), "one entry per token");
        for (JsonNode t : content) {
            assertEquals(2, t.path("top_logprobs").size());
            assertTrue(t.path("bytes").isArray());
            assertEquals(t.path("top_logprobs").get(0).path("logprob").asDouble(), t.path("logprob").asDouble(), 1e-6);
        }
        // list-of-parts content renders the same prompt as the plain string
        ObjectNode asString = req.deepCopy();
        ((ObjectNode) asString.withArray("messages").get(1)).put("content", "Hello");
        assertEquals(c.path("message").path("content").asText(),
                plain(ChatEndpoint.PATH, asString).path("choices").get(0).path("message").path("content").asText());
    }

    @Test
    void assistantTurnsAndContinueFinalMessage() {
        ObjectNode req = Http.obj().put("max_tokens", 8).put("temperature", 0).put("add_generation_prompt", false)
                .put("continue_final_message", true);
        ArrayNode msgs = req.putArray("messages");
        msgs.addObject().put("role", "user").put("content", "Where were you?");
        msgs.addObject().put("role", "assistant").put("content", "I was in the");
        Http.Response tok = http.post("/tokenize", req.deepCopy().without(List.of("max_tokens", "temperature")));
        assertEquals(200, tok.status(), tok.body());
        JsonNode rendered = http.post("/detokenize", Http.obj().set("tokens", tok.json().path("tokens"))).json();
        assertTrue(rendered.path("prompt").asText().endsWith("<|assistant|>I was in the"), rendered.toString());
        Http.Response r = http.post(ChatEndpoint.PATH, req);
        assertEquals(200, r.status(), r.body());
    }
}
