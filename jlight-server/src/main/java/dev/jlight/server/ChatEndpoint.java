package dev.jlight.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jlight.core.engine.CompletionDelta;
import dev.jlight.core.engine.CompletionResult;
import dev.jlight.core.engine.InvalidRequestException;
import dev.jlight.core.engine.RequestOutput;
import dev.jlight.core.engine.SamplingParams;
import io.javalin.http.Context;
import java.io.IOException;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code POST /v1/chat/completions}. */
final class ChatEndpoint {
    private static final Logger LOG = LoggerFactory.getLogger(ChatEndpoint.class);
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    static final String PATH = "/v1/chat/completions";

    private final Serving s;

    ChatEndpoint(Serving s) {
        this.s = s;
    }

    void handle(Context ctx, JsonFields f) throws IOException, InterruptedException {
        String model = s.model(f.string("model"));
        String promptText = ChatPrompt.render(s, f);
        boolean addSpecial = f.bool("add_special_tokens", false);
        Unsupported.check(f);
        Unsupported.checkChat(f);
        SamplingRequest req = SamplingRequest.parse(f, true, s.options, s.runtime.generationDefaults());
        int[] ids = Unsupported.truncate(f, s.runtime.tokenizer().encode(promptText, addSpecial), s.maxModelLen());
        String maxParam = f.node().hasNonNull("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        s.warnUnknown(PATH, f);
        int maxTokens = SamplingRequest.resolveMaxTokens(req.maxTokens(), maxParam, ids.length, "messages",
                s.maxModelLen(), s.kvTokens(), s.options.maxTokensCap());
        SamplingParams params;
        try {
            params = req.params().toBuilder().maxTokens(maxTokens).build();
        } catch (InvalidRequestException e) {
            throw ApiException.badRequest(e.param(), e.getMessage());
        }
        String id = Serving.newId("chatcmpl-");
        long created = System.currentTimeMillis() / 1000;
        Generation g = Generation.start(s.engine, s.admission, s.metrics, id, List.of(ids), List.of(params),
                "messages");
        if (req.stream()) {
            stream(ctx, g, req, params.n(), id, created, model, ids.length);
        } else {
            respond(ctx, g, req, id, created, model);
        }
    }

    private void respond(Context ctx, Generation g, SamplingRequest req, String id, long created, String model)
            throws InterruptedException {
        List<CompletionResult> results = DisconnectWatch.collect(ctx, g, id);
        if (results == null) {
            return;
        }
        CompletionResult r = results.getFirst();
        ObjectNode body = header(id, created, model, "chat.completion");
        ArrayNode choices = body.putArray("choices");
        for (CompletionResult.Choice c : r.choices()) {
            ObjectNode choice = choices.addObject();
            choice.put("index", c.index());
            ObjectNode msg = choice.putObject("message");
            msg.put("role", "assistant");
            msg.put("content", c.text());
            msg.putNull("refusal");
            msg.putArray("tool_calls");
            if (req.logprobs() != null && c.logprobs() != null) {
                choice.set("logprobs", LogprobsFormat.chat(c.logprobs(), req.logprobs(), s.tokenText,
                        req.returnTokensAsTokenIds()));
            } else {
                choice.putNull("logprobs");
            }
            choice.put("finish_reason", c.finishReason().wireName());
            putStopReason(choice, c.stopReason());
        }
        body.set("usage", usage(r.promptTokens(), r.generatedTokens()));
        OpenAiServer.json(ctx, 200, body);
    }

    private void stream(Context ctx, Generation g, SamplingRequest req, int n, String id, long created, String model,
                        int promptTokens) throws InterruptedException {
        streamEvents(ctx, g, id, new StreamParts() {
            private int generated;

            @Override
            public void open(SseStream sse) throws IOException {
                for (int i = 0; i < n; i++) {
                    ObjectNode delta = F.objectNode().put("role", "assistant").put("content", "");
                    sse.send(chunk(id, created, model, i, delta, null, null, null));
                }
            }

            @Override
            public void output(SseStream sse, int prompt, RequestOutput o) throws IOException {
                for (CompletionDelta d : o.choices()) {
                    boolean lp = req.logprobs() != null && d.logprobs() != null && !d.logprobs().isEmpty();
                    if (d.text().isEmpty() && d.finishReason() == null && !lp) {
                        continue;
                    }
                    ObjectNode delta = F.objectNode().put("content", d.text());
                    ObjectNode logprobs = lp ? LogprobsFormat.chat(d.logprobs(), req.logprobs(), s.tokenText,
                            req.returnTokensAsTokenIds()) : null;
                    sse.send(chunk(id, created, model, d.index(), delta, logprobs,
                            d.finishReason() == null ? null : d.finishReason().wireName(), d.stopReason()));
                }
                generated = o.generatedTokens();
            }

            @Override
            public ObjectNode usage() {
                return req.includeUsage()
                        ? usageChunk(id, created, model, "chat.completion.chunk", promptTokens, generated) : null;
            }
        });
    }

    /** What one endpoint's stream writes; {@link #streamEvents} runs them in order and owns the error handling. */
    interface StreamParts {
        /** The chunks sent before the engine's first output (the role deltas, the echoed prompts). */
        void open(SseStream sse) throws IOException;

        /** The chunks for one engine output of prompt {@code prompt}. */
        void output(SseStream sse, int prompt, RequestOutput o) throws IOException;

        /** The include_usage chunk that ends a stream which did not fail, or null when none was asked for. */
        ObjectNode usage();
    }

    /**
     * Streams {@code g} as server-sent events through {@code parts}. An engine failure ends the stream
     * with an error chunk (and no usage chunk); a write that fails means the client went away, so the
     * generation is cancelled; so is it when the handler thread is interrupted.
     */
    static void streamEvents(Context ctx, Generation g, String id, StreamParts parts) throws InterruptedException {
        try {
            SseStream sse = new SseStream(ctx.res());
            parts.open(sse);
            boolean failed = false;
            for (Generation.Event e = g.next(); e != null; e = g.next()) {
                if (e.error() != null) {
                    failed = true;
                    g.cancel();
                    sse.send(OpenAiServer.errorBody(ApiException.internal("The engine failed while generating: "
                            + e.error().getMessage())));
                    break;
                }
                parts.output(sse, e.prompt(), e.output());
            }
            ObjectNode usage = failed ? null : parts.usage();
            if (usage != null) {
                sse.send(usage);
            }
            sse.done();
        } catch (IOException e) {
            g.cancel();
            LOG.debug("{}: client went away ({}); request aborted", id, e.toString());
        } catch (InterruptedException e) {
            g.cancel();
            throw e;
        }
    }

    private static ObjectNode chunk(String id, long created, String model, int index, ObjectNode delta,
                                    ObjectNode logprobs, String finish, Object stopReason) {
        ObjectNode c = header(id, created, model, "chat.completion.chunk");
        ObjectNode choice = c.putArray("choices").addObject();
        choice.put("index", index);
        choice.set("delta", delta);
        choice.set("logprobs", logprobs == null ? F.nullNode() : logprobs);
        putFinish(choice, finish, stopReason);
        return c;
    }

    static ObjectNode header(String id, long created, String model, String object) {
        ObjectNode h = F.objectNode();
        h.put("id", id);
        h.put("object", object);
        h.put("created", created);
        h.put("model", model);
        return h;
    }

    static ObjectNode usage(int prompt, int completion) {
        ObjectNode u = F.objectNode();
        u.put("prompt_tokens", prompt);
        u.put("completion_tokens", completion);
        u.put("total_tokens", prompt + completion);
        return u;
    }

    /** The last chunk of a stream that asked for {@code stream_options.include_usage}: no choices, the totals. */
    static ObjectNode usageChunk(String id, long created, String model, String object, int prompt, int completion) {
        ObjectNode last = header(id, created, model, object);
        last.putArray("choices");
        last.set("usage", usage(prompt, completion));
        return last;
    }

    /** A streamed choice's finish_reason (null while it runs) and, once finished, vLLM's stop_reason. */
    static void putFinish(ObjectNode choice, String finish, Object stopReason) {
        if (finish == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", finish);
            putStopReason(choice, stopReason);
        }
    }

    /** vLLM's stop_reason: the stop string or stop token id that ended the choice, else null. */
    static void putStopReason(ObjectNode choice, Object stopReason) {
        switch (stopReason) {
            case null -> choice.putNull("stop_reason");
            case Integer i -> choice.put("stop_reason", i);
            default -> choice.put("stop_reason", stopReason.toString());
        }
    }
}
