package dev.jlight.core.testing;

import dev.jlight.core.backend.AttentionMetadata;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.model.ForwardBatch;
import dev.jlight.core.model.Model;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

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

    /**
     * Runs a golden prompt whole ({@code chunk} 0) or in chunks of {@code chunk} tokens (later
     * chunks attend to the cached prefix) and returns the logits at its stored positions,
     * [positions, vocab] row-major.
     */
    public static float[] prefill(Model model, KvCache kv, GoldenModel.Prompt p, int[] table, int blockSize, int chunk) {
        int n = p.ids().length;
        int vocab = model.vocabSize();
        int[] positions = p.logitPositions();
        float[] out = new float[positions.length * vocab];
        int step = chunk == 0 ? n : chunk;
        for (int start = 0; start < n; start += step) {
            int end = Math.min(n, start + step);
            int[] tokens = Arrays.copyOfRange(p.ids(), start, end);
            List<Integer> rows = new ArrayList<>();
            List<Integer> outIndex = new ArrayList<>();
            for (int r = 0; r < positions.length; r++) {
                if (positions[r] >= start && positions[r] < end) {
                    rows.add(positions[r] - start);
                    outIndex.add(r);
                }
            }
            float[] l = model.forward(step(tokens, start, table, blockSize,
                    rows.stream().mapToInt(Integer::intValue).toArray()), kv);
            for (int i = 0; i < rows.size(); i++) {
                System.arraycopy(l, i * vocab, out, outIndex.get(i) * vocab, vocab);
            }
        }
        return out;
    }

    /** Spare blocks a shuffled table draws from beyond what the sequence needs. */
    public static final int SPARE_BLOCKS = 3;

    /**
     * A block table for {@code tokens} tokens whose blocks are a seeded shuffle of
     * {@code [0, blocks + SPARE_BLOCKS)}, so paging mistakes show up; allocate
     * {@code blocksFor(tokens, blockSize) + SPARE_BLOCKS} blocks for it.
     */
    public static int[] shuffledBlockTable(int tokens, int blockSize, long seed) {
        int blocks = blocksFor(tokens, blockSize);
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < blocks + SPARE_BLOCKS; i++) {
            order.add(i);
        }
        java.util.Collections.shuffle(order, new java.util.Random(seed));
        return order.stream().limit(blocks).mapToInt(Integer::intValue).toArray();
    }

    public static int blocksFor(int tokens, int blockSize) {
        return (tokens + blockSize - 1) / blockSize;
    }
}
