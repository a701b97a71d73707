package dev.jlight.core.model;

import dev.jlight.core.backend.Backend;
import dev.jlight.core.backend.Tensor;

/**
 * Llama's SwiGLU MLP: down(silu(gate x) * up x), gate and up fused into one matmul over a
 * concatRows weight gateUp [2I, H]; down [H, I].
 */
public record DenseMlp(Backend backend, Tensor gateUp, Tensor down, int intermediate) implements FeedForward {
    @Override
    public void forward(Tensor out, Tensor x, StepScratch scratch) {
        Tensor gu = scratch.rows("mlp.gateUp", backend.activationDType(), 2L * intermediate);
        Tensor act = scratch.rows("mlp.act", backend.activationDType(), intermediate);
        backend.matmulSiluMul(act, gu, x, gateUp);
        backend.matmul(out, act, down);
    }
}
