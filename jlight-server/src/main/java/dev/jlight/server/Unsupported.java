package dev.jlight.server;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The OpenAI and vLLM request fields JLight knows but does not implement: rejected with a 400
 * that says so when they ask for something, accepted and ignored when they cannot change the
 * output. Everything else unknown is logged and ignored (vLLM's behaviour).
 */
final class Unsupported {
    /** Fields accepted and ignored (they do not change what is generated). */
    static final String[] IGNORED = {
        "user", "store", "metadata", "service_tier", "parallel_tool_calls", "tool_choice", "function_call",
        "modalities", "reasoning_effort", "web_search_options", "prediction", "spaces_between_special_tokens",
        "priority", "request_id", "cache_salt", "kv_transfer_params", "vllm_xargs", "mm_processor_kwargs",
        "length_penalty", "prompt_cache_key", "safety_identifier", "verbosity", "continuous_usage_stats",
        "logit_bias_type", "return_token_ids"
    };

    private Unsupported() {
    }

    /** Rejects what no endpoint implements; marks the ignored fields as known. */
    static void check(JsonFields f) {
        f.ignore(IGNORED);
        rejectIfPresent(f, "prompt_logprobs", "prompt logprobs are not supported yet");
        rejectIfTrue(f, "use_beam_search", "beam search is not supported");
        rejectIfPresent(f, "allowed_token_ids", "allowed_token_ids is not supported yet (use logit_bias)");
        rejectIfPresent(f, "bad_words", "bad_words is not supported yet (use logit_bias)");
        rejectIfPresent(f, "logits_processors", "custom logits processors are not supported");
        for (String g : new String[] {"guided_json", "guided_regex", "guided_choice", "guided_grammar",
            "guided_decoding_backend", "guided_whitespace_pattern", "structured_outputs"}) {
            rejectIfPresent(f, g, "structured output (guided decoding) is not supported yet");
        }
        JsonNode rf = f.get("response_format");
        if (rf != null) {
            String type = rf.path("type").asText("");
            if (!type.equals("text")) {
                throw ApiException.badRequest("response_format", "response_format of type '" + type
                        + "' is not supported yet (structured output); only {\"type\": \"text\"}");
            }
        }
    }

    /** Chat-only fields that ask for what is not implemented. */
    static void checkChat(JsonFields f) {
        rejectIfTrue(f, "echo", "echo in chat completions is not supported");
        rejectIfPresent(f, "audio", "audio output is not supported");
        JsonNode functions = f.get("functions");
        if (functions != null && !(functions.isArray() && functions.isEmpty())) {
            throw ApiException.badRequest("functions", "function calling is not supported yet");
        }
    }

    /** Completions-only fields. */
    static void checkCompletions(JsonFields f) {
        rejectIfPresent(f, "suffix", "suffix (insertion) is not supported");
    }

    private static void rejectIfPresent(JsonFields f, String field, String why) {
        if (f.has(field)) {
            throw ApiException.badRequest(field, why);
        }
    }

    private static void rejectIfTrue(JsonFields f, String field, String why) {
        JsonNode v = f.get(field);
        if (v != null && v.asBoolean(false)) {
            throw ApiException.badRequest(field, why);
        }
    }

    /** vLLM's truncate_prompt_tokens: keep the last k prompt tokens (-1: max_model_len - 1). */
    static int[] truncate(JsonFields f, int[] ids, int maxModelLen) {
        Integer k = f.integer("truncate_prompt_tokens");
        if (k == null) {
            return ids;
        }
        if (k == -1) {
            k = maxModelLen - 1;
        }
        if (k < 1) {
            throw ApiException.badRequest("truncate_prompt_tokens", "truncate_prompt_tokens must be >= 1 or -1, got "
                    + k);
        }
        return ids.length <= k ? ids : java.util.Arrays.copyOfRange(ids, ids.length - k, ids.length);
    }
}
