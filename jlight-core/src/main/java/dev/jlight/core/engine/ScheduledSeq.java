package dev.jlight.core.engine;

/**
 * One sequence's share of a step: its tokens {@code [numComputedBefore, numComputedBefore +
 * tokenIds.length)} run through the model; K/V of position p live in block
 * {@code blockTable[p / blockSize]}. {@code samples} is true when these tokens bring the
 * sequence level with its token count (end of prompt or a decode), so its last one's logits are
 * sampled; a prefill chunk that stops short samples nothing.
 */
public record ScheduledSeq(long seqId, int numComputedBefore, int[] tokenIds, int[] blockTable, boolean samples) {
    public int numNewTokens() {
        return tokenIds.length;
    }

    /** Tokens with K/V after this step (the sequence length attention sees). */
    public int seqLen() {
        return numComputedBefore + tokenIds.length;
    }
}
