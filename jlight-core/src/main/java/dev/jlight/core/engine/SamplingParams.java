package dev.jlight.core.engine;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * How one request samples and when it stops (vLLM's SamplingParams, OpenAI names). Validated on
 * construction: a bad value throws {@link InvalidRequestException} naming the parameter.
 * Checks that need the model (token ids inside the vocabulary, lengths against max_model_len)
 * happen at admission.
 *
 * @param temperature       0 means greedy (argmax, ties to the lowest id); else logits / temperature
 * @param topP              keep the smallest set of most likely tokens whose probability reaches top_p; (0, 1]
 * @param topK              keep the k most likely tokens (ties at the k-th kept); -1 or 0 = off
 * @param minP              drop tokens less likely than min_p times the most likely one; [0, 1]
 * @param repetitionPenalty HF/vLLM: over prompt and output tokens, positive logits divided, negative multiplied; &gt; 0
 * @param presencePenalty   OpenAI: subtracted once from every token already in the output; [-2, 2]
 * @param frequencyPenalty  OpenAI: subtracted per occurrence in the output; [-2, 2]
 * @param logitBias         token id to a bias in [-100, 100] added to its logit
 * @param seed              per-request RNG seed (null: seeded from the engine's RNG); same seed, same tokens
 * @param n                 number of completions sharing the prompt
 * @param maxTokens         tokens to generate at most (null: up to max_model_len)
 * @param minTokens         stop tokens and stop strings are ignored (and stop tokens suppressed) before this many
 * @param stop              strings that end the output; never part of it unless includeStopStrInOutput
 * @param stopTokenIds      token ids that end the output besides EOS
 * @param ignoreEos         keep going past EOS (stopTokenIds still stop)
 * @param logprobs          null: none; k: the chosen token's logprob and the k most likely (raw model distribution)
 * @param skipSpecialTokens passed to the text decoder
 * @param includeStopStrInOutput keep the matched stop string (or stop token's text) in the output text
 */
public record SamplingParams(
        double temperature,
        double topP,
        int topK,
        double minP,
        double repetitionPenalty,
        double presencePenalty,
        double frequencyPenalty,
        Map<Integer, Double> logitBias,
        Long seed,
        int n,
        Integer maxTokens,
        int minTokens,
        List<String> stop,
        Set<Integer> stopTokenIds,
        boolean ignoreEos,
        Integer logprobs,
        boolean skipSpecialTokens,
        boolean includeStopStrInOutput) {

    public static final int MAX_N = 128;
    public static final int MAX_LOGPROBS = 20;
    public static final int MAX_STOP_STRINGS = 32;
    public static final int MAX_STOP_STRING_LENGTH = 256;
    public static final int MAX_STOP_TOKEN_IDS = 1024;
    public static final int MAX_LOGIT_BIAS = 1024;
    /** Temperatures below this are greedy (vLLM's _SAMPLING_EPS). */
    public static final double GREEDY_EPS = 1e-5;

    public SamplingParams {
        check("temperature", temperature >= 0 && Double.isFinite(temperature), temperature, "must be >= 0");
        check("top_p", topP > 0 && topP <= 1, topP, "must be in (0, 1]");
        check("top_k", topK >= -1, topK, "must be -1 or 0 (off) or a positive count");
        check("min_p", minP >= 0 && minP <= 1, minP, "must be in [0, 1]");
        check("repetition_penalty", repetitionPenalty > 0 && Double.isFinite(repetitionPenalty), repetitionPenalty,
                "must be > 0");
        check("presence_penalty", presencePenalty >= -2 && presencePenalty <= 2, presencePenalty, "must be in [-2, 2]");
        check("frequency_penalty", frequencyPenalty >= -2 && frequencyPenalty <= 2, frequencyPenalty,
                "must be in [-2, 2]");
        logitBias = logitBias == null ? Map.of() : copyBias(logitBias);
        check("n", n >= 1 && n <= MAX_N, n, "must be in [1, " + MAX_N + "]");
        check("max_tokens", maxTokens == null || maxTokens >= 1, maxTokens, "must be >= 1");
        check("min_tokens", minTokens >= 0, minTokens, "must be >= 0");
        if (maxTokens != null && minTokens > maxTokens) {
            throw new InvalidRequestException("min_tokens", "must be <= max_tokens (" + maxTokens + "), got " + minTokens);
        }
        if (stop != null && stop.stream().anyMatch(java.util.Objects::isNull)) {
            throw new InvalidRequestException("stop", "stop strings must not be null");
        }
        if (stopTokenIds != null && stopTokenIds.stream().anyMatch(java.util.Objects::isNull)) {
            throw new InvalidRequestException("stop_token_ids", "token ids must not be null");
        }
        stop = stop == null ? List.of() : List.copyOf(stop);
        check("stop", stop.size() <= MAX_STOP_STRINGS, stop.size(), "at most " + MAX_STOP_STRINGS + " stop strings");
        for (String s : stop) {
            check("stop", !s.isEmpty() && s.length() <= MAX_STOP_STRING_LENGTH, s.length(),
                    "each stop string must have 1 to " + MAX_STOP_STRING_LENGTH + " characters");
        }
        stopTokenIds = stopTokenIds == null ? Set.of() : Set.copyOf(stopTokenIds);
        check("stop_token_ids", stopTokenIds.size() <= MAX_STOP_TOKEN_IDS, stopTokenIds.size(),
                "at most " + MAX_STOP_TOKEN_IDS + " ids");
        for (int id : stopTokenIds) {
            check("stop_token_ids", id >= 0, id, "token ids must be >= 0");
        }
        check("logprobs", logprobs == null || (logprobs >= 0 && logprobs <= MAX_LOGPROBS), logprobs,
                "must be in [0, " + MAX_LOGPROBS + "]");
    }

    private static Map<Integer, Double> copyBias(Map<Integer, Double> bias) {
        check("logit_bias", bias.size() <= MAX_LOGIT_BIAS, bias.size(), "at most " + MAX_LOGIT_BIAS + " entries");
        Map<Integer, Double> out = new LinkedHashMap<>();
        for (Map.Entry<Integer, Double> e : bias.entrySet()) {
            if (e.getKey() == null || e.getKey() < 0) {
                throw new InvalidRequestException("logit_bias", "token ids must be >= 0, got " + e.getKey());
            }
            Double v = e.getValue();
            check("logit_bias", v != null && v >= -100 && v <= 100, v, "bias for token " + e.getKey()
                    + " must be in [-100, 100]");
            out.put(e.getKey(), v);
        }
        return java.util.Collections.unmodifiableMap(out);
    }

    private static void check(String param, boolean ok, Object value, String rule) {
        if (!ok) {
            throw new InvalidRequestException(param, rule + ", got " + value);
        }
    }

    public boolean isGreedy() {
        return temperature < GREEDY_EPS;
    }

    public static SamplingParams defaults() {
        return builder().build();
    }

    /** Greedy decoding of at most {@code maxTokens} tokens. */
    public static SamplingParams greedy(int maxTokens) {
        return builder().temperature(0).maxTokens(maxTokens).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder().temperature(temperature).topP(topP).topK(topK).minP(minP)
                .repetitionPenalty(repetitionPenalty).presencePenalty(presencePenalty)
                .frequencyPenalty(frequencyPenalty).logitBias(logitBias).seed(seed).n(n).maxTokens(maxTokens)
                .minTokens(minTokens).stop(stop).stopTokenIds(stopTokenIds).ignoreEos(ignoreEos).logprobs(logprobs)
                .skipSpecialTokens(skipSpecialTokens).includeStopStrInOutput(includeStopStrInOutput);
    }

    /** Mutable builder with vLLM's defaults. */
    public static final class Builder {
        private double temperature = 1.0;
        private double topP = 1.0;
        private int topK = 0;
        private double minP = 0.0;
        private double repetitionPenalty = 1.0;
        private double presencePenalty = 0.0;
        private double frequencyPenalty = 0.0;
        private Map<Integer, Double> logitBias = Map.of();
        private Long seed;
        private int n = 1;
        private Integer maxTokens;
        private int minTokens;
        private List<String> stop = List.of();
        private Set<Integer> stopTokenIds = Set.of();
        private boolean ignoreEos;
        private Integer logprobs;
        private boolean skipSpecialTokens = true;
        private boolean includeStopStrInOutput;

        public Builder temperature(double v) { temperature = v; return this; }
        public Builder topP(double v) { topP = v; return this; }
        public Builder topK(int v) { topK = v; return this; }
        public Builder minP(double v) { minP = v; return this; }
        public Builder repetitionPenalty(double v) { repetitionPenalty = v; return this; }
        public Builder presencePenalty(double v) { presencePenalty = v; return this; }
        public Builder frequencyPenalty(double v) { frequencyPenalty = v; return this; }
        public Builder logitBias(Map<Integer, Double> v) { logitBias = v; return this; }
        public Builder seed(Long v) { seed = v; return this; }
        public Builder n(int v) { n = v; return this; }
        public Builder maxTokens(Integer v) { maxTokens = v; return this; }
        public Builder minTokens(int v) { minTokens = v; return this; }
        public Builder stop(List<String> v) { stop = v; return this; }
        public Builder stop(String... v) { stop = java.util.Arrays.asList(v); return this; }
        public Builder stopTokenIds(Set<Integer> v) { stopTokenIds = v; return this; }
        public Builder ignoreEos(boolean v) { ignoreEos = v; return this; }
        public Builder logprobs(Integer v) { logprobs = v; return this; }
        public Builder skipSpecialTokens(boolean v) { skipSpecialTokens = v; return this; }
        public Builder includeStopStrInOutput(boolean v) { includeStopStrInOutput = v; return this; }

        public SamplingParams build() {
            return new SamplingParams(temperature, topP, topK, minP, repetitionPenalty, presencePenalty,
                    frequencyPenalty, logitBias, seed, n, maxTokens, minTokens, stop, stopTokenIds, ignoreEos, logprobs,
                    skipSpecialTokens, includeStopStrInOutput);
        }
    }
}
