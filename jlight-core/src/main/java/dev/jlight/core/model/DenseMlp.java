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
        Tensor act = scratch.rows("mlp.act", backend.activationDType(), intermediate);
        backend.matmulSiluMul(act, gateUp(scratch), x, gateUp);
        backend.matmul(out, act, down);
    }

    /** The pre-norm in the gate/up matmul and the residual add in the down matmul (see Backend). */
    @Override
    public void addToResidual(Tensor residual, Tensor normWeight, float eps, Tensor normed, Tensor delta,
                              StepScratch scratch) {
        Tensor act = scratch.rows("mlp.act", backend.activationDType(), intermediate);
        backend.rmsNormMatmulSiluMul(act, gateUp(scratch), normed, residual, normWeight, eps, gateUp);
        backend.matmulAddResidual(residual, delta, act, down);
    }

    /** Scratch for the gate/up product [T, 2I], written only where silu·mul is not fused in. */
    private Tensor gateUp(StepScratch scratch) {
        return scratch.rows("mlp.gateUp", backend.activationDType(), 2L * intermediate);
    }
}
