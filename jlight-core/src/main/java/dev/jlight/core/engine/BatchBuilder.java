package dev.jlight.core.engine;

import dev.jlight.core.backend.AttentionMetadata;
import dev.jlight.core.model.ForwardBatch;

/**
 * Packs a {@link SchedulerOutput} into the model's flat batch: token ids and positions of all
 * scheduled tokens back to back, per-sequence query starts, sequence lengths and block tables,
 * each token's K/V slot ({@code block * blockSize + offset}), and one logit row per sampling
 * sequence (its last token), in scheduler order.
 */
public final class BatchBuilder {
    private BatchBuilder() {
    }

    public static ForwardBatch build(SchedulerOutput out, int blockSize) {
        int numSeqs = out.seqs().size();
        int numTokens = 0;
        for (ScheduledSeq s : out.seqs()) {
            numTokens += s.numNewTokens();
        }
        int[] tokenIds = new int[numTokens];
        int[] positions = new int[numTokens];
        int[] slots = new int[numTokens];
        int[] queryStart = new int[numSeqs + 1];
        int[] seqLens = new int[numSeqs];
        int[][] tables = new int[numSeqs][];
        int[] logitRows = new int[out.numSampling()];
        int t = 0;
        int r = 0;
        for (int s = 0; s < numSeqs; s++) {
            ScheduledSeq seq = out.seqs().get(s);
            int[] table = seq.blockTable();
            if ((long) table.length * blockSize < seq.seqLen()) {
                throw new IllegalStateException("sequence " + seq.seqId() + ": " + table.length + " blocks of "
                        + blockSize + " for " + seq.seqLen() + " tokens");
            }
            queryStart[s] = t;
            for (int i = 0; i < seq.numNewTokens(); i++, t++) {
                int pos = seq.numComputedBefore() + i;
                tokenIds[t] = seq.tokenIds()[i];
                positions[t] = pos;
                slots[t] = table[pos / blockSize] * blockSize + pos % blockSize;
            }
            seqLens[s] = seq.seqLen();
            tables[s] = table;
            if (seq.samples()) {
                logitRows[r++] = t - 1;
            }
        }
        queryStart[numSeqs] = t;
        AttentionMetadata meta = new AttentionMetadata(queryStart, seqLens, tables, slots, blockSize);
        return new ForwardBatch(tokenIds, positions, meta, logitRows);
    }
}
