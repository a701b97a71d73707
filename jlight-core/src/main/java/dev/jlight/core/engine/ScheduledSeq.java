package dev.jlight.core.engine;

/**
 * One sequence's share of a step: its tokens {@code [numComputedBefore, numComputedBefore +
 * tokenIds.length)} run through the model; K/V of position p live in block
 * {@code blockTable[p / blockSize]}. {@code samples} is true when these tokens bring the
 * sequence level with its token count (end of prompt or a decode), so its last one's logits are
 * sampled; a prefill chunk that stops short samples nothing. A token id may be
 * {@link #PLACEHOLDER}: the pick of a launched step not yet on the host (overlapped steps), which
 * the model takes on its backend or the engine fills in before the forward pass.
 */
public record ScheduledSeq(long seqId, int numComputedBefore, int[] tokenIds, int[] blockTable, boolean samples) {
    /** The id of a token sampled by the previous launched step, unknown when this step was scheduled. */
    public static final int PLACEHOLDER = -1;

    public int numNewTokens() {
        return tokenIds.length;
    }

    /** Tokens with K/V after this step (the sequence length attention sees). */
    public int seqLen() {
        return numComputedBefore + tokenIds.length;
    }
}
