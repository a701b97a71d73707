package dev.jlight.core.model;

import dev.jlight.core.JLightException;
import dev.jlight.core.backend.Backend;
import dev.jlight.core.backend.Tensor;
import dev.jlight.core.config.MiniCpmScaling;
import dev.jlight.core.config.ModelConfig;
import dev.jlight.core.weights.Weights;

/**
 * MiniCPM (1/2, model_type "minicpm", HF remote code MiniCPMForCausalLM): the Llama decoder with
 * the three muP scalings of {@link MiniCpmScaling} on the embeddings, every residual branch and
 * the logits.
 */
public final class MiniCpmModel extends LlamaModel {
    private final MiniCpmScaling scaling;

    public MiniCpmModel(ModelConfig config, Weights weights, Backend backend, LoadProgress progress) {
        super(checked(config), weights, backend, progress);
        this.scaling = MiniCpmScaling.of(config);
    }

    /** Fails before any weight is loaded; MiniCPM-S's fatrelu is not implemented. */
    private static ModelConfig checked(ModelConfig config) {
        MiniCpmScaling.of(config);
        if (!"silu".equals(config.hiddenAct())) {
            throw JLightException.inFile(config.file(), "MiniCPM with hidden_act '" + config.hiddenAct()
                    + "' is not supported (supported: silu)");
        }
        return config;
    }

    @Override
    protected void scaleEmbeddings(Tensor residual) {
        backend.scale(residual, (float) scaling.embedding());
    }

    /** Every sub-layer output is scaled before it joins the residual stream. */
    @Override
    protected boolean fusesResidualIntoMatmuls() {
        return false;
    }

    @Override
    protected void scaleSubLayerOutput(Tensor delta) {
        backend.scale(delta, (float) scaling.residual());
    }

    @Override
    protected void postProcessLogits(Tensor logits) {
        backend.scale(logits, (float) scaling.logits());
    }
}
