package dev.jlight.cpu;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.config.ModelConfig;
import dev.jlight.core.model.ForwardBatch;
import dev.jlight.core.model.LlamaModel;
import dev.jlight.core.model.LoadProgress;
import dev.jlight.core.model.StaticBatch;
import dev.jlight.core.weights.DType;
import dev.jlight.core.weights.DummyWeights;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * LlamaModel's decoder with the residual stream folded into the matmuls (rmsNormMatmul,
 * matmulAddResidual: Backend's compositions on the CPU) gives the logits of the layers with
 * sub-layer deltas and addRmsNorm: prefills of three lengths, then decode steps. The same f32 math
 * in the same order, but not bit for bit: the Vector API's reduceLanes may add lanes in another
 * order in another method (rmsNorm's sum of squares vs addRmsNorm's), hence the f32 tolerance.
 */
class LlamaResidualFusionTest {
    private static final String CONFIG = """
            {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 300,
             "hidden_size": 96, "intermediate_size": 200, "num_hidden_layers": 3,
             "num_attention_heads": 6, "num_key_value_heads": 2, "head_dim": 16, "rms_norm_eps": 1e-5,
             "rope_theta": 10000.0, "attention_bias": %s, "tie_word_embeddings": false,
             "torch_dtype": "bfloat16", "max_position_embeddings": 4096}
            """;

    @ParameterizedTest(name = "attention_bias={0}")
    @ValueSource(booleans = {false, true})
    void fusedLayersGiveTheLogitsOfTheDeltaLayers(boolean bias) throws Exception {
        ModelConfig config = ModelConfig.parse(Path.of("config.json"),
                new ObjectMapper().readTree(CONFIG.formatted(bias)));
        DummyWeights weights = new DummyWeights(DType.BF16, 11);
        int[] prompt = {9, 1, 20};
        try (CpuBackend cpu = new CpuBackend(2);
             LlamaModel fused = new LlamaModel(config, weights, cpu, LoadProgress.NONE);
             LlamaModel deltas = new LlamaModel(config, weights, cpu, LoadProgress.NONE) {
                 @Override
                 protected boolean fusesResidualIntoMatmuls() {
                     return false;
                 }
             }) {
            StaticBatch fb = new StaticBatch(prompt.length, 64, 16);
            StaticBatch db = new StaticBatch(prompt.length, 64, 16);
            try (KvCache fk = cpu.allocateKvCache(fused.kvCacheSpec(fb.blocksNeeded(), 16));
                 KvCache dk = cpu.allocateKvCache(deltas.kvCacheSpec(db.blocksNeeded(), 16))) {
                Random r = new Random(5);
                int[][] tokens = new int[prompt.length][];
                for (int s = 0; s < prompt.length; s++) {
                    tokens[s] = r.ints(prompt[s], 0, config.vocabSize()).toArray();
                }
                for (int step = 0; step < 3; step++) {
                    ForwardBatch f = fb.next(tokens);
                    float[] fl = fused.forward(f, fk);
                    float[] dl = deltas.forward(db.next(tokens), dk);
                    double[] ref = new double[dl.length];
                    for (int i = 0; i < ref.length; i++) {
                        ref[i] = dl[i];
                    }
                    TestSupport.assertClose("step " + step + " (" + f.numTokens() + " tokens)", ref, fl);
                    for (int s = 0; s < prompt.length; s++) {
                        tokens[s] = new int[] {r.nextInt(config.vocabSize())};
                    }
                }
            }
        }
    }
}
