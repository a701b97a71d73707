package dev.jlight.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jlight.core.engine.InvalidRequestException;
import dev.jlight.core.engine.SamplingParams;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The sampling and output fields that /v1/completions and /v1/chat/completions share, read and
 * checked against the server's caps. max_tokens is resolved later, once the prompt length is known.
 *
 * @param params        everything but max_tokens
 * @param maxTokens     max_completion_tokens, else max_tokens; null when the request sets neither
 * @param logprobs      how many top alternatives to report per token; null: no logprobs
 * @param includeUsage  stream_options.include_usage
 */
record SamplingRequest(SamplingParams params, Integer maxTokens, boolean stream, boolean includeUsage,
                       Integer logprobs, boolean returnTokensAsTokenIds) {

    /** Reads the fields; {@code chat} selects the chat form of logprobs (logprobs: bool, top_logprobs: k). */
    static SamplingRequest parse(JsonFields f, boolean chat, ServerOptions caps, ServerRuntime.GenerationDefaults d) {
        SamplingParams.Builder b = SamplingParams.builder();
        b.temperature(orElse(f.number("temperature"), d.temperature(), 1.0));
        b.topP(orElse(f.number("top_p"), d.topP(), 1.0));
        Integer topK = f.integer("top_k");
        b.topK(topK != null ? topK : d.topK() != null ? d.topK() : 0);
        b.minP(orElse(f.number("min_p"), d.minP(), 0.0));
        b.repetitionPenalty(orElse(f.number("repetition_penalty"), d.repetitionPenalty(), 1.0));
        b.presencePenalty(orElse(f.number("presence_penalty"), null, 0.0));
        b.frequencyPenalty(orElse(f.number("frequency_penalty"), null, 0.0));
        b.logitBias(logitBias(f.object("logit_bias")));
        b.seed(f.longInteger("seed"));

        Integer n = f.integer("n");
        if (n != null && n > caps.maxN()) {
            throw ApiException.badRequest("n", "n must be <= " + caps.maxN() + " (--max-n), got " + n);
        }
        b.n(n == null ? 1 : n);
        if (!chat) {
            Integer bestOf = f.integer("best_of");
            if (bestOf != null && bestOf != (n == null ? 1 : n)) {
                throw ApiException.badRequest("best_of", "best_of other than n is not supported (got best_of "
                        + bestOf + ", n " + (n == null ? 1 : n) + ")");
            }
        }

        Integer maxTokens = f.integer(chat ? "max_completion_tokens" : "max_tokens");
        if (chat) {
            Integer legacy = f.integer("max_tokens");
            maxTokens = maxTokens != null ? maxTokens : legacy;
        } else {
            f.ignore("max_completion_tokens");
        }
        String maxParam = chat && f.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        if (maxTokens != null && maxTokens < 1) {
            throw ApiException.badRequest(maxParam, maxParam + " must be >= 1, got " + maxTokens);
        }
        if (maxTokens != null && caps.maxTokensCap() != null && maxTokens > caps.maxTokensCap()) {
            throw ApiException.badRequest(maxParam, maxParam + " must be <= " + caps.maxTokensCap()
                    + " (--max-tokens-cap), got " + maxTokens);
        }
        Integer minTokens = f.integer("min_tokens");
        if (minTokens != null) {
            if (caps.maxTokensCap() != null && minTokens > caps.maxTokensCap()) {
                throw ApiException.badRequest("min_tokens", "min_tokens must be <= " + caps.maxTokensCap()
                        + " (--max-tokens-cap), got " + minTokens);
            }
            b.minTokens(minTokens);
        }

        List<String> stop = stop(f.get("stop"));
        if (stop.size() > caps.maxStopSequences()) {
            throw ApiException.badRequest("stop", "at most " + caps.maxStopSequences()
                    + " stop sequences are allowed (--max-stop-sequences), got " + stop.size());
        }
        b.stop(stop);
        b.stopTokenIds(tokenIdSet("stop_token_ids", f.array("stop_token_ids")));
        b.ignoreEos(f.bool("ignore_eos", false));
        b.skipSpecialTokens(f.bool("skip_special_tokens", true));
        b.includeStopStrInOutput(f.bool("include_stop_str_in_output", false));

        Integer logprobs;
        if (chat) {
            boolean want = f.bool("logprobs", false);
            Integer top = f.integer("top_logprobs");
            if (top != null && top < 0) {
                throw ApiException.badRequest("top_logprobs", "top_logprobs must be >= 0, got " + top);
            }
            if (top != null && !want) {
                throw ApiException.badRequest("top_logprobs", "when using `top_logprobs`, `logprobs` must be set to true.");
            }
            logprobs = want ? (top == null ? 0 : top) : null;
            if (logprobs != null && logprobs > caps.maxLogprobs()) {
                throw ApiException.badRequest("top_logprobs", "top_logprobs must be <= " + caps.maxLogprobs()
                        + " (--max-logprobs), got " + logprobs);
            }
        } else {
            logprobs = f.integer("logprobs");
            if (logprobs != null && logprobs < 0) {
                throw ApiException.badRequest("logprobs", "logprobs must be >= 0, got " + logprobs);
            }
            if (logprobs != null && logprobs > caps.maxLogprobs()) {
                throw ApiException.badRequest("logprobs", "logprobs must be <= " + caps.maxLogprobs()
                        + " (--max-logprobs), got " + logprobs);
            }
        }
        b.logprobs(logprobs);

        boolean stream = f.bool("stream", false);
        boolean includeUsage = false;
        ObjectNode so = f.object("stream_options");
        if (so != null) {
            if (!stream) {
                throw ApiException.badRequest("stream_options", "Stream options can only be defined when `stream=True`.");
            }
            JsonNode iu = so.get("include_usage");
            if (iu != null && !iu.isNull() && !iu.isBoolean()) {
                throw JsonFields.typeError("stream_options.include_usage", "a boolean", iu);
            }
            includeUsage = iu != null && iu.asBoolean();
        }
        boolean asIds = f.bool("return_tokens_as_token_ids", false);
        f.ignore("user");

        try {
            return new SamplingRequest(b.build(), maxTokens, stream, includeUsage, logprobs, asIds);
        } catch (InvalidRequestException e) {
            throw ApiException.badRequest(e.param(), e.getMessage());
        }
    }

    private static double orElse(Double asked, Double modelDefault, double dflt) {
        return asked != null ? asked : modelDefault != null ? modelDefault : dflt;
    }

    private static Map<Integer, Double> logitBias(ObjectNode bias) {
        if (bias == null) {
            return Map.of();
        }
        Map<Integer, Double> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : bias.properties()) {
            int id;
            try {
                id = Integer.parseInt(e.getKey().trim());
            } catch (NumberFormatException ex) {
                throw ApiException.badRequest("logit_bias", "logit_bias keys must be token ids, got '" + e.getKey() + "'");
            }
            if (!e.getValue().isNumber()) {
                throw JsonFields.typeError("logit_bias", "an object of numbers", e.getValue());
            }
            out.put(id, e.getValue().doubleValue());
        }
        return out;
    }

    private static List<String> stop(JsonNode v) {
        if (v == null) {
            return List.of();
        }
        if (v.isTextual()) {
            return List.of(v.textValue());
        }
        if (!v.isArray()) {
            throw JsonFields.typeError("stop", "a string or an array of strings", v);
        }
        List<String> out = new ArrayList<>();
        for (JsonNode s : v) {
            if (!s.isTextual()) {
                throw JsonFields.typeError("stop", "a string or an array of strings", s);
            }
            out.add(s.textValue());
        }
        return out;
    }

    static Set<Integer> tokenIdSet(String field, ArrayNode ids) {
        if (ids == null) {
            return Set.of();
        }
        Set<Integer> out = new LinkedHashSet<>();
        for (JsonNode id : ids) {
            out.add(tokenId(field, id));
        }
        return out;
    }

    static int tokenId(String field, JsonNode id) {
        if (id == null || !id.isNumber()) {
            throw JsonFields.typeError(field, "token ids (integers)", id);
        }
        long v = JsonFields.asLong(field, id);
        if (v < 0 || v > Integer.MAX_VALUE) {
            throw ApiException.badRequest(field, field + ": token id " + v + " is out of range");
        }
        return (int) v;
    }

    /**
     * max_tokens for one prompt: the asked value checked against max_model_len, else what is left
     * of max_model_len (and of the KV cache, and the server's cap).
     */
    static int resolveMaxTokens(Integer asked, String maxParam, int promptLen, String promptParam, int maxModelLen,
                                long kvTokens, Integer cap) {
        if (promptLen >= maxModelLen) {
            throw ApiException.badRequest(promptParam, "This model's maximum context length is " + maxModelLen
                    + " tokens. However, your request has " + promptLen + " input tokens (at least one more is "
                    + "needed for the output). Please reduce the length of the input.");
        }
        if (asked != null) {
            if (promptLen + (long) asked > maxModelLen) {
                throw ApiException.badRequest(maxParam, "'" + maxParam + "' is too large: " + asked
                        + ". This model's maximum context length is " + maxModelLen + " tokens and your request has "
                        + promptLen + " input tokens (" + asked + " > " + maxModelLen + " - " + promptLen + ").");
            }
            return asked;
        }
        long left = Math.min(maxModelLen - promptLen, kvTokens + 1 - promptLen);
        if (cap != null) {
            left = Math.min(left, cap);
        }
        return (int) Math.max(1, left);
    }
}
