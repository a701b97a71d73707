package dev.jlight.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jlight.core.engine.CompletionDelta;
import dev.jlight.core.engine.CompletionResult;
import dev.jlight.core.engine.InvalidRequestException;
import dev.jlight.core.engine.RequestOutput;
import dev.jlight.core.engine.SamplingParams;
import dev.jlight.core.tokenizer.Tokenizer;
import io.javalin.http.Context;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code POST /v1/completions}: one engine request per prompt (a string, a list of strings, a
 * list of token ids or a list of such lists); choice {@code i} of prompt {@code p} has index
 * {@code p * n + i}, as in vLLM and OpenAI.
 */
final class CompletionsEndpoint {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    static final String PATH = "/v1/completions";

    /** A prompt as token ids, with its text when it came as text (for echo). */
    record Prompt(int[] ids, String text) {
    }

    private final Serving s;

    CompletionsEndpoint(Serving s) {
        this.s = s;
    }

    void handle(Context ctx, JsonFields f) throws IOException, InterruptedException {
        String model = s.model(f.string("model"));
        boolean addSpecial = f.bool("add_special_tokens", true);
        List<Prompt> prompts = prompts(f.get("prompt"), s.runtime.tokenizer(), addSpecial);
        Unsupported.check(f);
        Unsupported.checkCompletions(f);
        boolean echo = f.bool("echo", false);
        SamplingRequest req = SamplingRequest.parse(f, false, s.options, s.runtime.generationDefaults());
        if (echo && req.logprobs() != null) {
            throw ApiException.badRequest("echo", "echo with logprobs needs prompt logprobs, which are not "
                    + "supported yet");
        }
        List<int[]> ids = new ArrayList<>();
        List<SamplingParams> params = new ArrayList<>();
        for (Prompt p : prompts) {
            int[] t = Unsupported.truncate(f, p.ids(), s.maxModelLen());
            int maxTokens = SamplingRequest.resolveMaxTokens(req.maxTokens(), "max_tokens", t.length, "prompt",
                    s.maxModelLen(), s.kvTokens(), s.options.maxTokensCap());
            try {
                params.add(req.params().toBuilder().maxTokens(maxTokens).build());
            } catch (InvalidRequestException e) {
                throw ApiException.badRequest(e.param(), e.getMessage());
            }
            ids.add(t);
        }
        s.warnUnknown(PATH, f);
        String id = Serving.newId("cmpl-");
        long created = System.currentTimeMillis() / 1000;
        int n = req.params().n();
        List<String> echoText = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            echoText.add(!echo ? "" : prompts.get(i).text() != null ? prompts.get(i).text()
                    : s.runtime.tokenizer().decode(ids.get(i), false));
        }
        Generation g = Generation.start(s.engine, s.admission, s.metrics, id, ids, params, "prompt");
        if (req.stream()) {
            stream(ctx, g, req, n, id, created, model, ids, echoText);
        } else {
            respond(ctx, g, req, n, id, created, model, echoText);
        }
    }

    /** The prompt field in its four OpenAI forms. */
    static List<Prompt> prompts(JsonNode prompt, Tokenizer tok, boolean addSpecial) {
        if (prompt == null) {
            throw ApiException.badRequest("prompt", "prompt is required");
        }
        List<Prompt> out = new ArrayList<>();
        if (prompt.isTextual()) {
            out.add(new Prompt(tok.encode(prompt.textValue(), addSpecial), prompt.textValue()));
            return out;
        }
        if (!prompt.isArray()) {
            throw JsonFields.typeError("prompt", "a string, an array of strings, an array of token ids or an array "
                    + "of token id arrays", prompt);
        }
        if (prompt.isEmpty()) {
            throw ApiException.badRequest("prompt", "prompt must not be empty");
        }
        JsonNode first = prompt.get(0);
        if (first.isNumber()) {
            out.add(new Prompt(ids(prompt), null));
            return out;
        }
        for (JsonNode p : prompt) {
            if (first.isTextual() && p.isTextual()) {
                out.add(new Prompt(tok.encode(p.textValue(), addSpecial), p.textValue()));
            } else if (first.isArray() && p.isArray()) {
                out.add(new Prompt(ids(p), null));
            } else {
                throw ApiException.badRequest("prompt", "prompt must be a string, an array of strings, an array of "
                        + "token ids or an array of token id arrays (not a mix)");
            }
        }
        return out;
    }

    private static int[] ids(JsonNode array) {
        if (array.isEmpty()) {
            throw ApiException.badRequest("prompt", "a token id prompt must not be empty");
        }
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = SamplingRequest.tokenId("prompt", array.get(i));
        }
        return ids;
    }

    private void respond(Context ctx, Generation g, SamplingRequest req, int n, String id, long created, String model,
                         List<String> echoText) throws InterruptedException {
        List<CompletionResult> results = DisconnectWatch.collect(ctx, g, id);
        if (results == null) {
            return;
        }
        ObjectNode body = ChatEndpoint.header(id, created, model, "text_completion");
        ArrayNode choices = body.putArray("choices");
        int prompt = 0;
        int completion = 0;
        for (int p = 0; p < results.size(); p++) {
            CompletionResult r = results.get(p);
            prompt += r.promptTokens();
            completion += r.generatedTokens();
            for (CompletionResult.Choice c : r.choices()) {
                ObjectNode choice = choices.addObject();
                choice.put("index", p * n + c.index());
                choice.put("text", echoText.get(p) + c.text());
                if (req.logprobs() != null && c.logprobs() != null) {
                    choice.set("logprobs", new LogprobsFormat.Legacy(req.logprobs(), s.tokenText,
                            req.returnTokensAsTokenIds(), 0).next(c.logprobs()));
                } else {
                    choice.putNull("logprobs");
                }
                choice.put("finish_reason", c.finishReason().wireName());
                ChatEndpoint.putStopReason(choice, c.stopReason());
            }
        }
        body.set("usage", ChatEndpoint.usage(prompt, completion));
        OpenAiServer.json(ctx, 200, body);
    }

    private void stream(Context ctx, Generation g, SamplingRequest req, int n, String id, long created, String model,
                        List<int[]> ids, List<String> echoText) throws InterruptedException {
        int prompts = ids.size();
        LogprobsFormat.Legacy[] lps = new LogprobsFormat.Legacy[prompts * n];
        int[] generated = new int[prompts];
        ChatEndpoint.streamEvents(ctx, g, id, new ChatEndpoint.StreamParts() {
            @Override
            public void open(SseStream sse) throws IOException {
                for (int p = 0; p < prompts; p++) {
                    for (int i = 0; i < n && !echoText.get(p).isEmpty(); i++) {
                        sse.send(chunk(id, created, model, p * n + i, echoText.get(p), null, null, null));
                    }
                }
            }

            @Override
            public void output(SseStream sse, int prompt, RequestOutput o) throws IOException {
                for (CompletionDelta d : o.choices()) {
                    int index = prompt * n + d.index();
                    boolean lp = req.logprobs() != null && d.logprobs() != null && !d.logprobs().isEmpty();
                    if (d.text().isEmpty() && d.finishReason() == null && !lp) {
                        continue;
                    }
                    ObjectNode logprobs = null;
                    if (lp) {
                        if (lps[index] == null) {
                            lps[index] = new LogprobsFormat.Legacy(req.logprobs(), s.tokenText,
                                    req.returnTokensAsTokenIds(), 0);
                        }
                        logprobs = lps[index].next(d.logprobs());
                    }
                    sse.send(chunk(id, created, model, index, d.text(), logprobs,
                            d.finishReason() == null ? null : d.finishReason().wireName(), d.stopReason()));
                }
                generated[prompt] = o.generatedTokens();
            }

            @Override
            public ObjectNode usage() {
                if (!req.includeUsage()) {
                    return null;
                }
                int prompt = 0;
                int completion = 0;
                for (int p = 0; p < prompts; p++) {
                    prompt += ids.get(p).length;
                    completion += generated[p];
                }
                return ChatEndpoint.usageChunk(id, created, model, "text_completion", prompt, completion);
            }
        });
    }

    private static ObjectNode chunk(String id, long created, String model, int index, String text,
                                    ObjectNode logprobs, String finish, Object stopReason) {
        ObjectNode c = ChatEndpoint.header(id, created, model, "text_completion");
        ObjectNode choice = c.putArray("choices").addObject();
        choice.put("index", index);
        choice.put("text", text);
        choice.set("logprobs", logprobs == null ? F.nullNode() : logprobs);
        ChatEndpoint.putFinish(choice, finish, stopReason);
        return c;
    }
}
