package dev.jlight.core.backend;

/**
 * What attention needs to know about one step's flat batch (vLLM's model-runner format). The
 * batch holds {@code numTokens} new tokens of {@code numSeqs} sequences, sequence {@code s}
 * owning tokens {@code [queryStart[s], queryStart[s+1])}. Sequence {@code s} has
 * {@code seqLens[s]} tokens in all after this step (cached prefix + new ones), so its new tokens
 * sit at positions {@code seqLens[s] - queryLen(s) ... seqLens[s] - 1} and attend causally to
 * every earlier position. K/V for position {@code p} lives in physical block
 * {@code blockTables[s][p / blockSize]} at offset {@code p % blockSize}.
 *
 * <p>{@code slotMapping[t]} is where token {@code t}'s own K/V are written before attention, or
 * -1 to skip the write (a token whose K/V is already cached).
 *
 * <p>Host arrays: a GPU backend uploads them once per step.
 */
public record AttentionMetadata(int[] queryStart, int[] seqLens, int[][] blockTables, int[] slotMapping,
                                int blockSize) {
    public AttentionMetadata {
        if (queryStart.length != seqLens.length + 1 || blockTables.length != seqLens.length) {
            throw new IllegalArgumentException("attention metadata: " + seqLens.length + " sequences but "
                    + queryStart.length + " query starts and " + blockTables.length + " block tables");
        }
        if (slotMapping.length != queryStart[seqLens.length]) {
            throw new IllegalArgumentException("attention metadata: " + queryStart[seqLens.length]
                    + " tokens but " + slotMapping.length + " slots");
        }
    }

    public int numSeqs() {
        return seqLens.length;
    }

    public int numTokens() {
        return slotMapping.length;
    }

    public int queryLen(int seq) {
        return queryStart[seq + 1] - queryStart[seq];
    }

    public int maxSeqLen() {
        int m = 0;
        for (int l : seqLens) {
            m = Math.max(m, l);
        }
        return m;
    }

    /** True when every sequence adds exactly one token (pure decode step). */
    public boolean isDecodeOnly() {
        return numTokens() == numSeqs();
    }
}
