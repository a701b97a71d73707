package dev.jlight.core.model;

import dev.jlight.core.backend.AttentionMetadata;

/**
 * One step's input to a model, flat over all scheduled sequences (vLLM's model-runner format):
 * token t of the batch is {@code tokenIds[t]} at {@code positions[t]}; {@code attention} says
 * which sequence owns it and where its K/V go; {@code logitRows} lists the tokens whose logits
 * are wanted (the last token of each sequence that samples this step), in output order.
 */
public record ForwardBatch(int[] tokenIds, int[] positions, AttentionMetadata attention, int[] logitRows) {
    public ForwardBatch {
        if (tokenIds.length != positions.length || tokenIds.length != attention.numTokens()) {
            throw new IllegalArgumentException("forward batch: " + tokenIds.length + " tokens, "
                    + positions.length + " positions, " + attention.numTokens() + " in attention metadata");
        }
        for (int r : logitRows) {
            if (r < 0 || r >= tokenIds.length) {
                throw new IllegalArgumentException("forward batch: logit row " + r + " outside " + tokenIds.length + " tokens");
            }
        }
    }

    public int numTokens() {
        return tokenIds.length;
    }
}
