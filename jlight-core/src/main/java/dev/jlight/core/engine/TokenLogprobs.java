package dev.jlight.core.engine;

import java.util.List;

/**
 * Log-probabilities for one generated token, taken from the model's raw distribution
 * (log-softmax of the logits before penalties, bias, temperature and filters: vLLM's default
 * "raw_logprobs" mode). {@code rank} is 1 + the number of tokens strictly more likely than the
 * chosen one; {@code top} holds the most likely tokens, most likely first, ties by lower id.
 */
public record TokenLogprobs(int tokenId, float logprob, int rank, List<Logprob> top) {
    public TokenLogprobs {
        top = List.copyOf(top);
    }
}
