package dev.jlight.core.model;

import dev.jlight.core.backend.Backend;
import dev.jlight.core.backend.Tensor;

/** A decoder layer's feed-forward sub-layer: out = ffn(x), both [T, hidden]. */
public interface FeedForward {
    /** The backend the sub-layer's weights live on. */
    Backend backend();

    void forward(Tensor out, Tensor x, StepScratch scratch);

    /**
     * The whole pre-norm sub-layer on the residual stream: residual += ffn(rmsNorm(residual) *
     * normWeight). This default norms into {@code normed}, runs {@link #forward} into
     * {@code delta} and adds it; a feed-forward whose ops can take the norm and the add into its
     * matmuls (the dense MLP) overrides it. residual, normed, delta [T, hidden]; normWeight [hidden].
     */
    default void addToResidual(Tensor residual, Tensor normWeight, float eps, Tensor normed, Tensor delta,
                               StepScratch scratch) {
        backend().rmsNorm(normed, residual, normWeight, eps);
        forward(delta, normed, scratch);
        backend().add(residual, delta);
    }
}
