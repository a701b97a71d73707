package dev.jlight.core.engine;

import dev.jlight.core.engine.kv.KvRequest;
import dev.jlight.core.engine.sample.SamplingContext;
import java.util.random.RandomGenerator;

/**
 * One generated sequence (one of a request's n choices) as the engine thread tracks it: its
 * tokens (prompt then output), how many of them have K/V in the cache, and its own RNG. The one
 * scheduling rule (vLLM v1): each step, {@code numComputedTokens} catches up with
 * {@code numTokens()}; a step that brings them level samples the next token.
 */
public final class Sequence implements KvRequest, SamplingContext {
    public enum Status { WAITING, RUNNING, FINISHED }

    private final long seqId;
    private final TokenList tokens;
    private final int numPromptTokens;
    private final SamplingParams params;
    private final int maxTokens;
    private final RandomGenerator rng;
    int numComputedTokens;
    Status status = Status.WAITING;

    /** @param maxTokens the resolved limit on output tokens (SamplingParams.maxTokens may be null) */
    public Sequence(long seqId, int[] prompt, SamplingParams params, int maxTokens, RandomGenerator rng) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("sequence " + seqId + ": empty prompt");
        }
        this.seqId = seqId;
        this.tokens = new TokenList(prompt, Math.min(maxTokens, 4096));
        this.numPromptTokens = prompt.length;
        this.params = params;
        this.maxTokens = maxTokens;
        this.rng = rng;
    }

    @Override
    public long seqId() {
        return seqId;
    }

    @Override
    public int numTokens() {
        return tokens.size();
    }

    @Override
    public int tokenAt(int index) {
        return tokens.get(index);
    }

    @Override
    public int numPromptTokens() {
        return numPromptTokens;
    }

    @Override
    public SamplingParams params() {
        return params;
    }

    @Override
    public RandomGenerator rng() {
        return rng;
    }

    public int maxTokens() {
        return maxTokens;
    }

    public int numComputedTokens() {
        return numComputedTokens;
    }

    public Status status() {
        return status;
    }

    public boolean isFinished() {
        return status == Status.FINISHED;
    }

    public int lastToken() {
        return tokens.get(tokens.size() - 1);
    }

    /** Token ids {@code [from, to)}. */
    public int[] tokens(int from, int to) {
        return tokens.copy(from, to);
    }

    public int[] outputTokens() {
        return tokens.copy(numPromptTokens, tokens.size());
    }

    /** Appends a sampled token; its K/V are computed next step. */
    public void appendToken(int token) {
        if (numComputedTokens != tokens.size()) {
            throw new IllegalStateException("sequence " + seqId + " sampled with " + (tokens.size() - numComputedTokens)
                    + " tokens still to compute");
        }
        tokens.add(token);
    }

    @Override
    public String toString() {
        return "Sequence[" + seqId + ", " + status + ", " + numComputedTokens + "/" + tokens.size() + " computed]";
    }
}
