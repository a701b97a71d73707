package dev.jlight.core.model;

import dev.jlight.core.backend.AttentionMetadata;

/**
 * A fixed set of sequences stepped together with contiguous KV blocks, for latency benchmarks
 * and tests that drive a model without the engine's scheduler.
 */
public final class StaticBatch {
    private final int numSeqs;
    private final int blockSize;
    private final int[][] blockTables;
    private final int[] lengths;

    public StaticBatch(int numSeqs, int maxLen, int blockSize) {
        this.numSeqs = numSeqs;
        this.blockSize = blockSize;
        int blocksPerSeq = (maxLen + blockSize - 1) / blockSize;
        this.blockTables = new int[numSeqs][blocksPerSeq];
        for (int s = 0; s < numSeqs; s++) {
            for (int b = 0; b < blocksPerSeq; b++) {
                blockTables[s][b] = s * blocksPerSeq + b;
            }
        }
        this.lengths = new int[numSeqs];
    }

    public int blocksNeeded() {
        return numSeqs * blockTables[0].length;
    }

    /** Appends tokens[s] to each sequence s; logits for the last new token of each. */
    public ForwardBatch next(int[][] tokens) {
        int total = 0;
        for (int[] t : tokens) {
            total += t.length;
        }
        int[] ids = new int[total];
        int[] positions = new int[total];
        int[] slots = new int[total];
        int[] queryStart = new int[numSeqs + 1];
        int[] seqLens = new int[numSeqs];
        int[] logitRows = new int[numSeqs];
        int t = 0;
        for (int s = 0; s < numSeqs; s++) {
            queryStart[s] = t;
            for (int tok : tokens[s]) {
                int p = lengths[s]++;
                ids[t] = tok;
                positions[t] = p;
                slots[t] = blockTables[s][p / blockSize] * blockSize + p % blockSize;
                t++;
            }
            seqLens[s] = lengths[s];
            logitRows[s] = t - 1;
        }
        queryStart[numSeqs] = t;
        return new ForwardBatch(ids, positions, new AttentionMetadata(queryStart, seqLens, blockTables, slots, blockSize),
                logitRows);
    }
}
