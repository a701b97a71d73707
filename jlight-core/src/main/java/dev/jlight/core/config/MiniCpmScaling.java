package dev.jlight.core.config;

import dev.jlight.core.JLightException;

/**
 * MiniCPM's three scalings (muP-style), as its HF remote code modeling_minicpm.py and vLLM's
 * minicpm.py apply them to an otherwise Llama decoder:
 * <ul>
 *   <li>{@code embedding}: token embeddings are multiplied by {@code scale_emb};</li>
 *   <li>{@code residual}: every sub-layer output (attention and MLP) is multiplied by
 *       {@code scale_depth / sqrt(num_hidden_layers)} before it is added to the residual;</li>
 *   <li>{@code logits}: the final hidden state is divided by {@code hidden_size / dim_model_base}
 *       before lm_head (applied to the logits here, the same by linearity).</li>
 * </ul>
 * Absent fields take MiniCPMConfig's defaults (1), which make the model a plain Llama.
 */
public record MiniCpmScaling(double embedding, double residual, double logits) {

    public static MiniCpmScaling of(ModelConfig config) {
        ConfigFields f = ConfigFields.of(config);
        double scaleEmb = f.positiveDouble("scale_emb", 1.0);
        double scaleDepth = f.positiveDouble("scale_depth", 1.0);
        double dimModelBase = f.positiveDouble("dim_model_base", 1.0);
        if (f.optInt("num_experts", 0) > 0) {
            throw JLightException.inFile(config.file(), "MiniCPM with experts (field 'num_experts' = "
                    + f.optInt("num_experts", 0) + ", MiniCPM-MoE) is not supported; dense MiniCPM only");
        }
        return new MiniCpmScaling(scaleEmb, scaleDepth / Math.sqrt(config.numLayers()),
                dimModelBase / config.hiddenSize());
    }
}
