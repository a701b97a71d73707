package dev.jlight.core.model;

import dev.jlight.core.backend.AttentionMetadata;

/**
 * One step's input to a model, flat over all scheduled sequences (vLLM's model-runner format):
 * token t of the batch is {@code tokenIds[t]} at {@code positions[t]}; {@code attention} says
 * which sequence owns it and where its K/V go; {@code logitRows} lists the tokens whose logits
 * are wanted (the last token of each sequence that samples this step), in output order.
 *
 * <p>{@code previousRows} (null: none) serves the engine's overlapped steps: when
 * {@code previousRows[t] >= 0}, token t is the token that the model's previous sampled step
 * picked for its logit row {@code previousRows[t]}, still unknown to the host when this batch was
 * built, and {@code tokenIds[t]} is only a placeholder. -1 means "take {@code tokenIds[t]}".
 * Only {@link Model#launchSampled} of a model that {@link Model#launchesAsync() launches
 * asynchronously} reads it; the engine resolves it on the host for every other call.
 */
public record ForwardBatch(int[] tokenIds, int[] positions, AttentionMetadata attention, int[] logitRows,
                           int[] previousRows) {
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
        if (previousRows != null) {
            if (previousRows.length != tokenIds.length) {
                throw new IllegalArgumentException("forward batch: " + previousRows.length + " previous rows for "
                        + tokenIds.length + " tokens");
            }
            for (int r : previousRows) {
                if (r < -1) {
                    throw new IllegalArgumentException("forward batch: previous row " + r + " (want -1 or a row)");
                }
            }
        }
    }

    /** A batch whose every token id is known on the host. */
    public ForwardBatch(int[] tokenIds, int[] positions, AttentionMetadata attention, int[] logitRows) {
        this(tokenIds, positions, attention, logitRows, null);
    }

    /** previousRows for {@code numTokens} tokens none of which takes a previous pick (all -1). */
    public static int[] noPreviousRows(int numTokens) {
        int[] rows = new int[numTokens];
        java.util.Arrays.fill(rows, -1);
        return rows;
    }

    /** Whether some token id is the previous step's pick (see {@code previousRows}). */
    public boolean takesPreviousIds() {
        if (previousRows == null) {
            return false;
        }
        for (int r : previousRows) {
            if (r >= 0) {
                return true;
            }
        }
        return false;
    }

    public int numTokens() {
        return tokenIds.length;
    }
}
