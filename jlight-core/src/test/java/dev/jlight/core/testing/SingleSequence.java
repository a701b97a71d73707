package dev.jlight.core.testing;

import dev.jlight.core.backend.AttentionMetadata;
import dev.jlight.core.model.ForwardBatch;

/**
 * Builds forward batches for one sequence laid out in consecutive KV blocks, without the
 * engine: enough to check a model against reference logits position by position.
 */
public final class SingleSequence {
    private SingleSequence() {
    }

    /**
     * A batch of {@code tokens} appended at positions [start, start + n) to a sequence whose
     * blocks are {@code blockTable}; logits wanted for {@code logitRows} (indices into tokens).
     */
    public static ForwardBatch step(int[] tokens, int start, int[] blockTable, int blockSize, int... logitRows) {
        int n = tokens.length;
        int[] positions = new int[n];
        int[] slots = new int[n];
        for (int i = 0; i < n; i++) {
            int p = start + i;
            positions[i] = p;
            slots[i] = blockTable[p / blockSize] * blockSize + p % blockSize;
        }
        AttentionMetadata meta = new AttentionMetadata(new int[] {0, n}, new int[] {start + n},
                new int[][] {blockTable}, slots, blockSize);
        return new ForwardBatch(tokens, positions, meta, logitRows);
    }

    public static int[] allRows(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) {
            r[i] = i;
        }
        return r;
    }

    public static int argmax(float[] logits, int row, int vocab) {
        int best = 0;
        for (int i = 1; i < vocab; i++) {
            if (logits[row * vocab + i] > logits[row * vocab + best]) {
                best = i;
            }
        }
        return best;
    }
}
