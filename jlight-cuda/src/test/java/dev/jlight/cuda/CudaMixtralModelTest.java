package dev.jlight.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.config.ModelConfig;
import dev.jlight.core.model.LoadProgress;
import dev.jlight.core.model.Model;
import dev.jlight.core.model.ModelLoader;
import dev.jlight.core.model.StaticBatch;
import dev.jlight.core.testing.SingleSequence;
import dev.jlight.core.weights.DType;
import dev.jlight.core.weights.DummyWeights;
import dev.jlight.cpu.CpuBackend;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A small Mixtral (8 experts, top-2, 3 layers, head dim 64, I = 328: not a multiple of the
 * 64-column tile) on the GPU: its forward against the CPU backend (prefills of different
 * lengths, then decode steps), and decode steps replayed from CUDA graphs
 * bit for bit equal to the same padded steps run eagerly — the MoE ops queue no host work and
 * their grids depend only on the step's shape, so a captured step replays with other routings.
 * Against the CPU the tolerance is looser than the Llama test's: a router near-tie that bf16
 * activations decide the other way changes one token's experts (a wrong op still gives ~1).
 */
@Tag("gpu")
class CudaMixtralModelTest {
    static final String CONFIG = """
            {"model_type": "mixtral", "architectures": ["MixtralForCausalLM"], "vocab_size": 1000,
             "hidden_size": 256, "intermediate_size": 328, "num_hidden_layers": 3,
             "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-5,
             "num_local_experts": 8, "num_experts_per_tok": 2, "rope_theta": 1000000.0,
             "sliding_window": null, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
             "max_position_embeddings": 4096}
            """;
    static ModelConfig config;

    @BeforeAll
    static void open() throws Exception {
        CudaBackend.Availability a = CudaBackend.probe();
        assumeTrue(a.available(), () -> "skipped, no GPU backend here: " + a.reason());
        config = ModelConfig.parse(Path.of("config.json"), new ObjectMapper().readTree(CONFIG));
    }

    @Test
    void forwardMatchesCpu() {
        DummyWeights weights = new DummyWeights(DType.BF16, 9);
        int[] prompt = {17, 5, 70};
        try (CudaBackend gpu = new CudaBackend(CudaBackend.Options.defaults().withArenaBytes(2L << 30));
             CpuBackend cpu = new CpuBackend(4);
             Model gm = ModelLoader.load(config, weights, gpu, LoadProgress.NONE);
             Model cm = ModelLoader.load(config, weights, cpu, LoadProgress.NONE)) {
            StaticBatch gb = new StaticBatch(prompt.length, 128, 16);
            StaticBatch cb = new StaticBatch(prompt.length, 128, 16);
            try (KvCache gk = gpu.allocateKvCache(gm.kvCacheSpec(gb.blocksNeeded(), 16));
                 KvCache ck = cpu.allocateKvCache(cm.kvCacheSpec(cb.blocksNeeded(), 16))) {
                int[][] tokens = prompts(prompt, new Random(3));
                for (int step = 0; step < 4; step++) {
                    float[] gl = gm.forward(gb.next(tokens), gk);
                    float[] cl = cm.forward(cb.next(tokens), ck);
                    assertEquals(cl.length, gl.length);
                    double nmse = CudaLlamaModelTest.nmse(gl, cl);
                    System.out.printf(Locale.ROOT, "mixtral step %d: logits NMSE %.2e%n", step, nmse);
                    assertTrue(nmse < 2e-2, "step " + step + ": NMSE " + nmse);
                    for (int s = 0; s < prompt.length; s++) {
                        tokens[s] = new int[] {SingleSequence.argmax(cl, s, config.vocabSize())};
                    }
                }
            }
        }
    }

    @Test
    void graphReplaysAreExactlyTheEagerPaddedSteps() {
        DummyWeights weights = new DummyWeights(DType.BF16, 11);
        int seqs = 5, maxLen = 64, block = 16;
        try (CudaBackend gpu = new CudaBackend(CudaBackend.Options.defaults().withArenaBytes(2L << 30));
             Model ma = ModelLoader.load(config, weights, gpu, LoadProgress.NONE);
             Model mb = ModelLoader.load(config, weights, gpu, LoadProgress.NONE)) {
            assumeTrue(gpu.graphsSupported(), "the driver has no graph API");
            StaticBatch ba = new StaticBatch(seqs, maxLen, block);
            StaticBatch bb = new StaticBatch(seqs, maxLen, block);
            try (KvCache ka = gpu.allocateKvCache(ma.kvCacheSpec(ba.blocksNeeded(), block));
                 KvCache kb = gpu.allocateKvCache(mb.kvCacheSpec(bb.blocksNeeded(), block));
                 CudaGraphRunner runner = new CudaGraphRunner(ma, ka, maxLen)) {
                int vocab = config.vocabSize();
                int[][] tokens = prompts(new int[] {2, 3, 4, 5, 6}, new Random(5));
                float[] got = runner.forward(ba.next(tokens), ka);
                float[] want = mb.forward(bb.next(tokens), kb);
                CudaGraphRunnerTest.same("prefill", want, got, got.length);
                for (int step = 0; step < 6; step++) {
                    for (int s = 0; s < seqs; s++) {
                        tokens[s] = new int[] {SingleSequence.argmax(want, s, vocab)};
                    }
                    got = runner.forward(ba.next(tokens), ka);
                    want = mb.forward(runner.pad(bb.next(tokens), 8), kb);
                    CudaGraphRunnerTest.same("decode step " + step + " (" + runner.stats() + ")", want, got, seqs * vocab);
                }
                CudaGraphRunner.Stats st = runner.stats();
                System.out.println("mixtral graph runner: " + st);
                assertEquals(0, st.captureFailures(), st.toString());
                assertEquals(0, st.fallbacks(), st.toString());
                assertTrue(st.replays() >= 4, st.toString());
            }
        }
    }

    private int[][] prompts(int[] lengths, Random r) {
        int[][] tokens = new int[lengths.length][];
        for (int s = 0; s < lengths.length; s++) {
            tokens[s] = r.ints(lengths[s], 0, config.vocabSize()).toArray();
        }
        return tokens;
    }
}
