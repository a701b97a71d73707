package dev.jlight.core.model;

import dev.jlight.core.backend.Backend;
import dev.jlight.core.backend.Tensor;
import dev.jlight.core.config.ModelConfig;
import dev.jlight.core.config.MoeSpec;
import dev.jlight.core.weights.WeightTensor;
import dev.jlight.core.weights.Weights;

/**
 * Mixtral (HF MixtralForCausalLM): the Mistral decoder with each MLP replaced by a sparse
 * mixture of experts ({@link MoeMlp}). Expert weights are read in either layout found in the wild:
 * <ul>
 *   <li>per expert (transformers 4, and what transformers 5 writes by default):
 *       {@code block_sparse_moe.gate.weight} [E,H] and {@code block_sparse_moe.experts.{e}.w1/w3/w2.weight}
 *       (w1 = gate [I,H], w3 = up [I,H], w2 = down [H,I]);</li>
 *   <li>fused (transformers 5's in-memory layout, saved with {@code save_original_format=False}):
 *       {@code mlp.gate.weight} [E,H], {@code mlp.experts.gate_up_proj} [E,2I,H] (gate rows then
 *       up rows per expert) and {@code mlp.experts.down_proj} [E,H,I].</li>
 * </ul>
 * Both end up as the stacked [E*2I,H] / [E*H,I] weights of {@link Backend#moeExperts}.
 */
public final class MixtralModel extends LlamaModel {

    public MixtralModel(ModelConfig config, Weights weights, Backend backend, LoadProgress progress) {
        super(checked(config), weights, backend, progress);
    }

    /** Reads the expert settings before any weight is loaded, so a bad config fails fast. */
    private static ModelConfig checked(ModelConfig config) {
        MoeSpec.mixtral(config);
        return config;
    }

    /**
     * The experts' output is a delta (moeExperts sums it), so folding the attention's norm and add
     * into its matmuls would only move the add and the norm next to the experts: no launch saved.
     */
    @Override
    protected boolean fusesResidualIntoMatmuls() {
        return false;
    }

    @Override
    protected FeedForward loadFeedForward(Weights w, LoadProgress p, int i) {
        MoeSpec spec = MoeSpec.mixtral(config);
        String pre = LAYER.formatted(i);
        int e = spec.numExperts();
        int h = config.hiddenSize();
        int inter = config.intermediateSize();
        if (w.find(pre + "mlp.experts.gate_up_proj").isPresent()) {
            return new MoeMlp(backend, load(w, p, pre + "mlp.gate.weight", e, h),
                    loadFlattened(w, p, pre + "mlp.experts.gate_up_proj", e, 2L * inter, h),
                    loadFlattened(w, p, pre + "mlp.experts.down_proj", e, h, inter), spec);
        }
        String moe = pre + "block_sparse_moe.";
        Tensor[] gateUp = new Tensor[2 * e];
        Tensor[] down = new Tensor[e];
        for (int x = 0; x < e; x++) {
            String ex = moe + "experts." + x + ".";
            gateUp[2 * x] = load(w, p, ex + "w1.weight", inter, h);
            gateUp[2 * x + 1] = load(w, p, ex + "w3.weight", inter, h);
            down[x] = load(w, p, ex + "w2.weight", h, inter);
        }
        return new MoeMlp(backend, load(w, p, moe + "gate.weight", e, h), backend.concatRows(gateUp),
                backend.concatRows(down), spec);
    }

    /** A stacked [E, rows, cols] weight viewed as [E*rows, cols] (same bytes, row-major). */
    private Tensor loadFlattened(Weights w, LoadProgress p, String name, long experts, long rows, long cols) {
        WeightTensor t = w.require(name, experts, rows, cols);
        Tensor out = backend.weight(new WeightTensor(t.name(), t.dtype(), new long[] {experts * rows, cols},
                t.data(), t.file()));
        p.loaded(t.data().byteSize());
        return out;
    }
}
