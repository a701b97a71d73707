package dev.jlight.core.model;

import dev.jlight.core.backend.Backend;
import dev.jlight.core.config.ModelConfig;
import dev.jlight.core.weights.Weights;

/**
 * Qwen2 / Qwen2.5 (HF Qwen2ForCausalLM): the Llama decoder with biases on q, k and v (always;
 * its config has no attention_bias field) and none on o_proj. Embeddings tied or not, as
 * tie_word_embeddings says. Sliding-window layers are not run windowed: the context is capped at
 * the window instead ({@link ModelConfig#fullAttentionLength()}), and Qwen2.5's published configs
 * have use_sliding_window false anyway.
 */
public final class Qwen2Model extends LlamaModel {
    public Qwen2Model(ModelConfig config, Weights weights, Backend backend, LoadProgress progress) {
        super(config, weights, backend, progress);
    }

    @Override
    protected boolean qkvBias() {
        return true;
    }
}
