package dev.jlight.core.model;

import dev.jlight.core.backend.Tensor;

/** A decoder layer's feed-forward sub-layer: out = ffn(x), both [T, hidden]. */
public interface FeedForward {
    void forward(Tensor out, Tensor x, StepScratch scratch);
}
