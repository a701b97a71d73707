package dev.jlight.core.engine;

import dev.jlight.core.backend.AttentionMetadata;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.model.ForwardBatch;
import dev.jlight.core.model.Model;

/**
 * vLLM's profile run: before the KV cache takes what memory is left, one forward of the largest
 * step the scheduler may form, so that every per-step buffer (the model's scratch, the
 * backend's attention and matmul workspace) has grown to its peak and counts as in use. Without
 * it a GPU KV cache sized from the free memory left the first long prefill under load without
 * room for its buffers ("workspace needs 192 MiB more", H100 serving run of session 3).
 *
 * <p>The step is {@code maxTokens} prompt tokens over {@code min(maxSeqs, maxTokens)} new
 * sequences, each wanting logits: the most tokens and the most logit rows at once. Token ids are
 * 0 (any id is valid), the KV cache is a temporary one just big enough, closed afterwards.
 */
public final class ProfileRun {
    private ProfileRun() {
    }

    public static void run(Model model, int maxTokens, int maxSeqs, int blockSize) {
        int seqs = Math.max(1, Math.min(maxSeqs, maxTokens));
        int[] lens = new int[seqs];
        for (int s = 0; s < seqs; s++) {
            lens[s] = maxTokens / seqs + (s < maxTokens % seqs ? 1 : 0);
        }
        ForwardBatch batch = batch(lens, blockSize);
        int blocks = 0;
        for (int[] table : batch.attention().blockTables()) {
            blocks += table.length;
        }
        try (KvCache kv = model.backend().allocateKvCache(model.kvCacheSpec(blocks, blockSize))) {
            model.forward(batch, kv);
        }
    }

    /** Prompts of {@code lens} tokens from position 0, blocks numbered in order, one logit row each. */
    static ForwardBatch batch(int[] lens, int blockSize) {
        int total = 0;
        for (int len : lens) {
            total += len;
        }
        int[] ids = new int[total];
        int[] positions = new int[total];
        int[] slots = new int[total];
        int[] queryStart = new int[lens.length + 1];
        int[][] tables = new int[lens.length][];
        int[] rows = new int[lens.length];
        int t = 0;
        int nextBlock = 0;
        for (int s = 0; s < lens.length; s++) {
            tables[s] = new int[(lens[s] + blockSize - 1) / blockSize];
            for (int b = 0; b < tables[s].length; b++) {
                tables[s][b] = nextBlock++;
            }
            for (int p = 0; p < lens[s]; p++, t++) {
                positions[t] = p;
                slots[t] = tables[s][p / blockSize] * blockSize + p % blockSize;
            }
            queryStart[s + 1] = t;
            rows[s] = t - 1;
        }
        return new ForwardBatch(ids, positions, new AttentionMetadata(queryStart, lens.clone(), tables, slots,
                blockSize), rows);
    }
}
