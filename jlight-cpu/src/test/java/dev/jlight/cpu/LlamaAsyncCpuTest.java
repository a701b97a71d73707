package dev.jlight.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.jlight.core.backend.KvCache;
import dev.jlight.core.config.ModelConfig;
import dev.jlight.core.model.DeviceSampling;
import dev.jlight.core.model.ForwardBatch;
import dev.jlight.core.model.LoadProgress;
import dev.jlight.core.model.Model;
import dev.jlight.core.model.ModelLoader;
import dev.jlight.core.testing.GoldenModel;
import dev.jlight.core.testing.SingleSequence;
import dev.jlight.core.weights.SafetensorsWeights;
import org.junit.jupiter.api.Test;

/**
 * On the CPU backend a Llama does not launch asynchronously: the engine resolves previous-step
 * ids on the host, launchSampled refuses batches that still name them, and a batch's previous
 * rows change nothing in forward (its token ids are the resolved ones).
 */
class LlamaAsyncCpuTest {
    @Test
    void theCpuPathStaysSynchronous() throws Exception {
        GoldenModel golden = GoldenModel.load("llama3");
        ModelConfig config = ModelConfig.load(golden.folder());
        try (SafetensorsWeights weights = SafetensorsWeights.open(golden.folder());
             CpuBackend backend = new CpuBackend(2);
             Model model = ModelLoader.load(config, weights, backend, LoadProgress.NONE)) {
            assertFalse(backend.downloadsAsync());
            assertFalse(model.launchesAsync());
            int[] prompt = golden.prompts().get(0).ids();
            ForwardBatch plain = batch(prompt, null);
            int[] rows = new int[prompt.length];
            java.util.Arrays.fill(rows, -1);
            rows[prompt.length - 1] = 0;
            ForwardBatch named = batch(prompt, rows);
            assertThrows(IllegalArgumentException.class,
                    () -> model.launchSampled(named, null, DeviceSampling.greedy(1)));
            // up to float rounding (the CPU's threads may sum in another order); taking another
            // token's id would move the logits by far more
            assertArrayEquals(logits(model, plain), logits(model, named), 1e-5f, "previous rows are ignored by forward");
        }
    }

    private static ForwardBatch batch(int[] prompt, int[] previousRows) {
        int[] table = SingleSequence.shuffledBlockTable(prompt.length, 16, 1);
        ForwardBatch b = SingleSequence.step(prompt, 0, table, 16, prompt.length - 1);
        return new ForwardBatch(b.tokenIds(), b.positions(), b.attention(), b.logitRows(), previousRows);
    }

    private static float[] logits(Model model, ForwardBatch b) {
        int blocks = SingleSequence.blocksFor(b.numTokens(), 16) + SingleSequence.SPARE_BLOCKS;
        try (KvCache kv = model.backend().allocateKvCache(model.kvCacheSpec(blocks, 16))) {
            return model.forward(b, kv);
        }
    }
}
