package dev.jlight.core.engine;

import dev.jlight.core.engine.kv.KvRequest;
import dev.jlight.core.engine.sample.SamplingContext;
import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * One generated sequence (one of a request's n choices) as the engine thread tracks it: its
 * tokens (prompt then output), how many of them have K/V in the cache, and its own RNG. The one
 * scheduling rule (vLLM v1): each step, {@code numComputedTokens} catches up with
 * {@code numTokens()}; a step that brings them level samples the next token.
 *
 * <p>Overlapped (async) steps add placeholders (vLLM v1's {@code num_output_placeholders}): a
 * token sampled by a launched step whose id has not reached the host yet. The scheduler counts
 * them as tokens to compute ({@link #numTokensWithPlaceholders()}), so the next step can run the
 * sequence on before the id is known; {@link #numTokens()} and everything that reads ids (prefix
 * hashing, penalties, stop checks) see only the known tokens, which always come first.
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
    /** Sampled tokens launched but not yet known on the host; they follow the known tokens. */
    private int numPlaceholders;
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

    /** Token ids {@code [from, to)}, {@link ScheduledSeq#PLACEHOLDER} where a placeholder stands. */
    int[] tokensOrPlaceholders(int from, int to) {
        if (to > numTokensWithPlaceholders()) {
            throw new IndexOutOfBoundsException("sequence " + seqId + ": token " + to + " of "
                    + numTokensWithPlaceholders() + " with placeholders");
        }
        int known = Math.min(to, tokens.size());
        int[] out = Arrays.copyOf(from < known ? tokens.copy(from, known) : new int[0], to - from);
        Arrays.fill(out, Math.max(0, known - from), out.length, ScheduledSeq.PLACEHOLDER);
        return out;
    }

    /** Known tokens plus placeholders: what the scheduler computes up to. */
    public int numTokensWithPlaceholders() {
        return tokens.size() + numPlaceholders;
    }

    public int numPlaceholders() {
        return numPlaceholders;
    }

    /**
     * Whether every token max_tokens allows has been sampled (some still placeholders): the
     * sequence ends as soon as they are known, so it must not be scheduled again.
     */
    boolean samplingDone() {
        return numOutputTokens() + numPlaceholders >= maxTokens;
    }

    /** A launched step samples this sequence's next token; its id comes later ({@link #resolvePlaceholder}). */
    void addPlaceholder() {
        if (numComputedTokens != numTokensWithPlaceholders()) {
            throw new IllegalStateException("sequence " + seqId + " sampled with "
                    + (numTokensWithPlaceholders() - numComputedTokens) + " tokens still to compute");
        }
        numPlaceholders++;
    }

    /** The oldest placeholder's id reached the host: it becomes a known token. */
    void resolvePlaceholder(int token) {
        if (numPlaceholders == 0) {
            throw new IllegalStateException("sequence " + seqId + " has no placeholder for token " + token);
        }
        numPlaceholders--;
        tokens.add(token);
    }

    /** The sequence ended: the ids of its placeholders are discarded. */
    void dropPlaceholders() {
        numPlaceholders = 0;
    }

    public int[] outputTokens() {
        return tokens.copy(numPromptTokens, tokens.size());
    }

    /** Appends a sampled token; its K/V are computed next step. */
    public void appendToken(int token) {
        if (numComputedTokens != tokens.size() || numPlaceholders != 0) {
            throw new IllegalStateException("sequence " + seqId + " sampled with " + (tokens.size() - numComputedTokens)
                    + " tokens still to compute");
        }
        tokens.add(token);
    }

    @Override
    public String toString() {
        return "Sequence[" + seqId + ", " + status + ", " + numComputedTokens + "/" + tokens.size()
                + (numPlaceholders == 0 ? "" : "+" + numPlaceholders) + " computed]";
    }
}
