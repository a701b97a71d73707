package dev.jlight.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.jlight.core.backend.KvCache;
import dev.jlight.core.config.ModelConfig;
import dev.jlight.core.engine.ProfileRun;
import dev.jlight.core.model.Model;
import dev.jlight.core.model.ModelLoader;
import dev.jlight.core.model.LoadProgress;
import dev.jlight.core.testing.GoldenModel;
import dev.jlight.core.testing.SingleSequence;
import dev.jlight.core.weights.SafetensorsWeights;
import org.junit.jupiter.api.Test;

/** The profile step runs on a real model, and a step after it computes what it computed before. */
class ProfileRunCpuTest {
    @Test
    void aStepAfterTheProfileRunIsUnchanged() throws Exception {
        GoldenModel golden = GoldenModel.load("llama3");
        ModelConfig config = ModelConfig.load(golden.folder());
        try (SafetensorsWeights weights = SafetensorsWeights.open(golden.folder());
             CpuBackend backend = new CpuBackend(2);
             Model model = ModelLoader.load(config, weights, backend, LoadProgress.NONE)) {
            int[] prompt = golden.prompts().get(1).ids();
            float[] before = oneStep(model, prompt);
            ProfileRun.run(model, 300, 7, 16);   // more tokens and rows than the step below
            // same values up to float rounding (bigger scratch buffers split the CPU's work differently)
            assertArrayEquals(before, oneStep(model, prompt), 1e-4f);
        }
    }

    private static float[] oneStep(Model model, int[] prompt) {
        int blocks = SingleSequence.blocksFor(prompt.length, 16) + SingleSequence.SPARE_BLOCKS;
        try (KvCache kv = model.backend().allocateKvCache(model.kvCacheSpec(blocks, 16))) {
            int[] table = SingleSequence.shuffledBlockTable(prompt.length, 16, 1);
            return model.forward(SingleSequence.step(prompt, 0, table, 16, prompt.length - 1), kv);
        }
    }
}
