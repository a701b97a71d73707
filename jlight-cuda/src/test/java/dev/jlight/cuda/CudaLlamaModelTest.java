package dev.jlight.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.config.ModelConfig;
import dev.jlight.core.model.ForwardBatch;
import dev.jlight.core.model.LoadProgress;
import dev.jlight.core.model.Model;
import dev.jlight.core.model.ModelLoader;
import dev.jlight.core.model.StaticBatch;
import dev.jlight.core.weights.DType;
import dev.jlight.core.weights.DummyWeights;
import dev.jlight.cpu.CpuBackend;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The whole Llama forward (fused QKV and gate/up through concatRows, bf16 activations, f32
 * logits) on the GPU against the CPU backend, same dummy weights: a batch of prefills of
 * different lengths, then decode steps. The GPU keeps activations in bf16 where the CPU keeps
 * f32, so logits differ by bf16 rounding through the layers: NMSE well under 1e-2 (a wrong op
 * gives ~1).
 */
@Tag("gpu")
class CudaLlamaModelTest {
    static final String CONFIG = """
            {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 1000,
             "hidden_size": 256, "intermediate_size": 640, "num_hidden_layers": 3,
             "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 64, "rms_norm_eps": 1e-5,
             "rope_theta": 500000.0, "rope_scaling": {"rope_type": "llama3", "factor": 8.0,
             "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
             "tie_word_embeddings": false, "torch_dtype": "bfloat16", "max_position_embeddings": 131072}
            """;

    @ParameterizedTest(name = "llama forward, {0} weights, max NMSE {1}")
    @CsvSource({"BF16, 3e-3", "F32, 1e-2"})
    void forwardMatchesCpu(DType weightType, double maxNmse) throws Exception {
        CudaBackend.Availability a = CudaBackend.probe();
        assumeTrue(a.available(), () -> "skipped, no GPU backend here: " + a.reason());
        ModelConfig config = ModelConfig.parse(Path.of("config.json"), new ObjectMapper().readTree(CONFIG));
        DummyWeights weights = new DummyWeights(weightType, 7);
        int[] prompt = {17, 5, 30};
        try (CudaBackend gpu = new CudaBackend(CudaBackend.Options.defaults().withArenaBytes(2L << 30));
             CpuBackend cpu = new CpuBackend(4);
             Model gm = ModelLoader.load(config, weights, gpu, LoadProgress.NONE);
             Model cm = ModelLoader.load(config, weights, cpu, LoadProgress.NONE)) {
            StaticBatch gb = new StaticBatch(prompt.length, 64, 16);
            StaticBatch cb = new StaticBatch(prompt.length, 64, 16);
            try (KvCache gk = gpu.allocateKvCache(gm.kvCacheSpec(gb.blocksNeeded(), 16));
                 KvCache ck = cpu.allocateKvCache(cm.kvCacheSpec(cb.blocksNeeded(), 16))) {
                Random r = new Random(3);
                int[][] tokens = new int[prompt.length][];
                for (int s = 0; s < prompt.length; s++) {
                    tokens[s] = r.ints(prompt[s], 0, config.vocabSize()).toArray();
                }
                for (int step = 0; step < 4; step++) {
                    ForwardBatch g = gb.next(tokens);
                    ForwardBatch c = cb.next(tokens);
                    float[] gl = gm.forward(g, gk);
                    float[] cl = cm.forward(c, ck);
                    assertEquals(cl.length, gl.length);
                    double nmse = nmse(gl, cl);
                    System.out.printf(Locale.ROOT, "llama %s step %d (%d tokens): logits NMSE %.2e%n", weightType,
                            step, g.numTokens(), nmse);
                    assertTrue(nmse < maxNmse, "step " + step + ": NMSE " + nmse);
                    for (int s = 0; s < prompt.length; s++) {
                        tokens[s] = new int[] {argmax(cl, s, config.vocabSize())};
                    }
                }
            }
            System.out.println(gpu.arena().summary());
        }
    }

    /**
     * The norms and residual adds inside the GEMVs (the default) give the logits of the separate
     * norm and add kernels bit for bit: a prefill (cuBLASLt, the same ops either way), then decode
     * steps of 1, 3 or 8 tokens, where the GEMV (forced on, so both take it) runs fused.
     */
    @ParameterizedTest(name = "norm fused into the GEMVs, {0} sequences: same logit bits")
    @ValueSource(ints = {1, 3, 8})
    void normFusionKeepsTheLogitBits(int numSeqs) throws Exception {
        CudaBackend.Availability a = CudaBackend.probe();
        assumeTrue(a.available(), () -> "skipped, no GPU backend here: " + a.reason());
        ModelConfig config = ModelConfig.parse(Path.of("config.json"), new ObjectMapper().readTree(CONFIG));
        try (CudaBackend gpu = new CudaBackend(CudaBackend.Options.defaults().withArenaBytes(2L << 30));
             Model m = ModelLoader.load(config, new DummyWeights(DType.BF16, 7), gpu, LoadProgress.NONE)) {
            gpu.setGemvMode(CudaBackend.GemvMode.ON);
            StaticBatch fb = new StaticBatch(numSeqs, 64, 16);
            StaticBatch ub = new StaticBatch(numSeqs, 64, 16);
            try (KvCache fk = gpu.allocateKvCache(m.kvCacheSpec(fb.blocksNeeded(), 16));
                 KvCache uk = gpu.allocateKvCache(m.kvCacheSpec(ub.blocksNeeded(), 16))) {
                Random r = new Random(numSeqs);
                int[][] tokens = new int[numSeqs][];
                for (int s = 0; s < numSeqs; s++) {
                    tokens[s] = r.ints(1 + 4 * s, 0, config.vocabSize()).toArray();
                }
                for (int step = 0; step < 4; step++) {
                    gpu.setFuseNorm(true);            // the norm prologue is off by default
                    gpu.setFuseResidualAdd(true);
                    float[] fused = m.forward(fb.next(tokens), fk);
                    gpu.setFuseNorm(false);
                    gpu.setFuseResidualAdd(false);
                    float[] apart = m.forward(ub.next(tokens), uk);
                    assertArrayEquals(apart, fused, "step " + step);
                    for (int s = 0; s < numSeqs; s++) {
                        tokens[s] = new int[] {argmax(fused, s, config.vocabSize())};
                    }
                }
            }
        }
    }

    static double nmse(float[] g, float[] c) {
        double err = 0, ref = 0;
        for (int i = 0; i < g.length; i++) {
            assertTrue(Float.isFinite(g[i]), "GPU logit " + i + " is " + g[i]);
            err += ((double) g[i] - c[i]) * ((double) g[i] - c[i]);
            ref += (double) c[i] * c[i];
        }
        return err / ref;
    }

    static int argmax(float[] logits, int row, int vocab) {
        int best = 0;
        for (int i = 1; i < vocab; i++) {
            if (logits[row * vocab + i] > logits[row * vocab + best]) {
                best = i;
            }
        }
        return best;
    }
}
