package dev.jlight.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jlight.core.backend.KvCache;
import dev.jlight.core.config.ModelConfig;
import dev.jlight.core.model.Model;
import dev.jlight.core.model.ModelLoader;
import dev.jlight.core.model.LoadProgress;
import dev.jlight.core.testing.GoldenModel;
import dev.jlight.core.testing.SingleSequence;
import dev.jlight.core.weights.SafetensorsWeights;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every golden model's forward on the CPU backend (the Llama family, Qwen2 tied and untied,
 * MiniCPM, Mixtral in both expert layouts) against HF transformers' fp32 reference
 * (testdata/golden/models, made by scripts/make_golden.py on the device): logits at every stored
 * position within 1e-4, and HF's 16-token greedy continuation reproduced exactly. K/V blocks are
 * shuffled so paging mistakes show up.
 */
class LlamaGoldenTest {
    private static final int BLOCK = 4;

    static List<String> models() throws IOException {
        return GoldenModel.names();
    }

    @Test
    void goldenModelsArePresent() throws IOException {
        assertFalse(models().isEmpty(), "no golden models under " + GoldenModel.root());
        assertTrue(models().containsAll(List.of("llama2", "llama3", "mistral", "qwen2", "qwen2_tied", "minicpm",
                "mixtral", "mixtral_fused")), "golden models: " + models());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void logitsAndGreedyMatchTransformers(String name) throws IOException {
        GoldenModel golden = GoldenModel.load(name);
        ModelConfig config = ModelConfig.load(golden.folder());
        try (SafetensorsWeights weights = SafetensorsWeights.open(golden.folder());
             CpuBackend backend = new CpuBackend(2);
             Model model = ModelLoader.load(config, weights, backend, LoadProgress.NONE)) {
            for (GoldenModel.Prompt p : golden.prompts()) {
                checkPrompt(model, p, 0);
                checkPrompt(model, p, 5); // chunked prefill: later chunks attend to the cached prefix
            }
        }
    }

    private static void checkPrompt(Model model, GoldenModel.Prompt p, int chunk) {
        int vocab = model.vocabSize();
        int total = p.ids().length + p.greedy().length;
        int[] table = SingleSequence.shuffledBlockTable(total, BLOCK, p.index());
        int poolBlocks = table.length + SingleSequence.SPARE_BLOCKS;
        try (KvCache kv = model.backend().allocateKvCache(model.kvCacheSpec(poolBlocks, BLOCK))) {
            float[] logits = SingleSequence.prefill(model, kv, p, table, BLOCK, chunk);
            int rows = p.logitPositions().length;
            for (int r = 0; r < rows; r++) {
                for (int v = 0; v < vocab; v++) {
                    float want = p.logit(r, v);
                    float got = logits[r * vocab + v];
                    float tol = 1e-4f * Math.max(1f, Math.abs(want));
                    if (!(Math.abs(got - want) <= tol)) {
                        throw new AssertionError("prompt " + p.index() + " (chunk " + chunk + ") position "
                                + p.logitPositions()[r] + " token " + v + ": got " + got + ", transformers " + want);
                    }
                }
            }
            int[] generated = new int[p.greedy().length];
            int next = SingleSequence.argmax(logits, rows - 1, vocab);
            int pos = p.ids().length;
            for (int i = 0; i < generated.length; i++) {
                generated[i] = next;
                float[] l = model.forward(SingleSequence.step(new int[] {next}, pos++, table, BLOCK, 0), kv);
                next = SingleSequence.argmax(l, 0, vocab);
            }
            assertArrayEquals(p.greedy(), generated, "greedy continuation of prompt " + p.index());
        }
    }
}
