package dev.jlight.core.engine;

import dev.jlight.core.backend.AttentionMetadata;
import dev.jlight.core.model.ForwardBatch;
import java.util.function.LongToIntFunction;

/**
 * Packs a {@link SchedulerOutput} into the model's flat batch: token ids and positions of all
 * scheduled tokens back to back, per-sequence query starts, sequence lengths and block tables,
 * each token's K/V slot ({@code block * blockSize + offset}), and one logit row per sampling
 * sequence (its last token), in scheduler order. A {@link ScheduledSeq#PLACEHOLDER} token becomes
 * a {@link ForwardBatch#previousRows() previous row}: the logit row that picked it in the
 * previous sampled step, with token id 0 standing in.
 */
public final class BatchBuilder {
    private BatchBuilder() {
    }

    /** A batch whose token ids are all known (it has no placeholders). */
    public static ForwardBatch build(SchedulerOutput out, int blockSize) {
        return build(out, blockSize, seqId -> -1);
    }

    /** @param previousRow the previous sampled step's logit row of a sequence, -1 when it had none */
    public static ForwardBatch build(SchedulerOutput out, int blockSize, LongToIntFunction previousRow) {
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
        int[] previousRows = null;
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
                if (tokenIds[t] == ScheduledSeq.PLACEHOLDER) {
                    previousRows = previousRows != null ? previousRows : ForwardBatch.noPreviousRows(numTokens);
                    previousRows[t] = previousRow.applyAsInt(seq.seqId());
                    if (previousRows[t] < 0) {
                        throw new IllegalStateException("sequence " + seq.seqId() + ": token " + pos
                                + " is a placeholder but the previous step sampled no row for it");
                    }
                    tokenIds[t] = 0;
                }
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
        return new ForwardBatch(tokenIds, positions, meta, logitRows, previousRows);
    }
}
