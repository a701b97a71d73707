package dev.jlight.core.model;

import dev.jlight.core.backend.Backend;
import dev.jlight.core.backend.Tensor;
import dev.jlight.core.config.MoeSpec;
import dev.jlight.core.weights.DType;

/**
 * A sparse mixture-of-experts MLP (Mixtral's block_sparse_moe): a linear router scores the
 * experts, each token runs its top-k experts' SwiGLU MLPs and sums them weighted by the
 * (renormalised) router probabilities. router [E, H]; gateUp [E*2I, H] and down [E*H, I] stacked
 * as {@link Backend#moeExperts} wants them.
 */
public record MoeMlp(Backend backend, Tensor router, Tensor gateUp, Tensor down, MoeSpec spec) implements FeedForward {
    @Override
    public void forward(Tensor out, Tensor x, StepScratch scratch) {
        int e = spec.numExperts();
        int k = spec.topK();
        // router logits in f32 on every backend: the choice of experts is discrete, and a bf16
        // rounding of a logit (~0.4 %) flips near-tied choices that HF's fp32 router keeps
        Tensor logits = scratch.rows("moe.routerLogits", DType.F32, e);
        Tensor ids = scratch.rows("moe.topIds", DType.I32, k);
        Tensor weights = scratch.rows("moe.topWeights", DType.F32, k);
        backend.matmul(logits, x, router);
        backend.moeTopK(ids, weights, logits, k, spec.renormalize());
        backend.moeExperts(out, x, gateUp, down, ids, weights, e);
    }
}
