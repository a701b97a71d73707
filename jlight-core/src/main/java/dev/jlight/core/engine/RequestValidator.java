package dev.jlight.core.engine;

/**
 * Admission checks that need the model and the pool (SamplingParams checks the rest): token ids
 * inside the vocabulary, prompt and max_tokens inside max_model_len, and a single sequence's
 * blocks inside the pool, so that no admitted request can ever stall the scheduler.
 */
final class RequestValidator {
    private final int vocabSize;
    private final int maxModelLen;
    private final int numBlocks;
    private final int blockSize;

    RequestValidator(int vocabSize, int maxModelLen, int numBlocks, int blockSize) {
        this.vocabSize = vocabSize;
        this.maxModelLen = maxModelLen;
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
    }

    /**
     * Returns max_tokens resolved: when not given, vLLM's max_model_len - prompt length, cut to
     * what the KV pool can hold for one sequence.
     */
    int validate(EngineRequest req) {
        int[] prompt = req.promptTokenIds();
        SamplingParams p = req.params();
        if (prompt.length == 0) {
            throw new InvalidRequestException("prompt", "the prompt is empty");
        }
        for (int i = 0; i < prompt.length; i++) {
            if (prompt[i] < 0 || prompt[i] >= vocabSize) {
                throw new InvalidRequestException("prompt", "token id " + prompt[i] + " at position " + i
                        + " is outside the vocabulary of " + vocabSize);
            }
        }
        if (prompt.length >= maxModelLen) {
            throw new InvalidRequestException("prompt", "the prompt has " + prompt.length
                    + " tokens; the maximum model length is " + maxModelLen + " (prompt plus at least one output token)");
        }
        // The last sampled token never needs K/V: a sequence of L tokens needs ceil((L - 1) / blockSize) blocks.
        long poolTokens = (long) numBlocks * blockSize;
        if (prompt.length > poolTokens) {
            throw new InvalidRequestException("prompt", "the prompt has " + prompt.length
                    + " tokens but the whole KV cache holds " + poolTokens);
        }
        int maxTokens = p.maxTokens() != null ? p.maxTokens()
                : (int) Math.min(maxModelLen - prompt.length, poolTokens + 1 - prompt.length);
        if (prompt.length + maxTokens > maxModelLen) {
            throw new InvalidRequestException("max_tokens", "prompt (" + prompt.length + " tokens) plus max_tokens ("
                    + maxTokens + ") is more than the maximum model length " + maxModelLen);
        }
        if (prompt.length + (long) maxTokens - 1 > poolTokens) {
            throw new InvalidRequestException("max_tokens", "prompt (" + prompt.length + " tokens) plus max_tokens ("
                    + maxTokens + ") needs more KV blocks than the whole cache holds (" + numBlocks + " of "
                    + blockSize + " tokens)");
        }
        if (p.minTokens() > maxTokens) {
            throw new InvalidRequestException("min_tokens", "must be <= max_tokens (" + maxTokens + "), got " + p.minTokens());
        }
        for (int id : p.logitBias().keySet()) {
            checkVocab("logit_bias", id);
        }
        for (int id : p.stopTokenIds()) {
            checkVocab("stop_token_ids", id);
        }
        return maxTokens;
    }

    private void checkVocab(String param, int id) {
        if (id >= vocabSize) {
            throw new InvalidRequestException(param, "token id " + id + " is outside the vocabulary of " + vocabSize);
        }
    }
}
