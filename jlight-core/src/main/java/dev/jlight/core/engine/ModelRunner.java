package dev.jlight.core.engine;

import dev.jlight.core.backend.KvCache;
import dev.jlight.core.model.DeviceSampling;
import dev.jlight.core.model.ForwardBatch;
import dev.jlight.core.model.Model;
import dev.jlight.core.model.PendingIds;

/**
 * Runs one scheduled step on the model: builds the flat batch and calls the model, returning
 * logits (one row per sampling sequence), the backend's picks, or a {@link LaunchedStep} whose
 * picks come later. Placeholders (a token the previous sampled step picked) go to a model that
 * {@link Model#launchesAsync() launches asynchronously} as previous rows; for every other call
 * they are filled in here from that step's ids, which are then already on the host. Knows
 * nothing of the backend behind the model.
 */
public final class ModelRunner {
    private final Model model;
    private final KvCache kvCache;
    private final int blockSize;
    private final int vocabSize;
    private long tokensForwarded;
    /** The last sampled step (null after a logits step): what placeholders refer to. */
    private LaunchedStep previous;

    public ModelRunner(Model model, KvCache kvCache) {
        this.model = model;
        this.kvCache = kvCache;
        this.blockSize = kvCache.spec().blockSize();
        this.vocabSize = model.vocabSize();
    }

    public int vocabSize() {
        return vocabSize;
    }

    /** Tokens run through the model since start (prefix-cache hits are never forwarded). */
    public long tokensForwarded() {
        return tokensForwarded;
    }

    /** Whether the model can pick tokens on its backend ({@link #runSampled}). */
    public boolean samplesOnDevice() {
        return model.samplesOnDevice();
    }

    /** Whether {@link #launch} returns before the backend has computed the step. */
    public boolean launchesAsync() {
        return model.launchesAsync();
    }

    /**
     * Starts the step through {@link Model#launchSampled}: returns at once for a model that
     * launches asynchronously (its placeholders are resolved on the backend), else after the
     * forward pass. Await the returned steps in launch order.
     */
    public LaunchedStep launch(SchedulerOutput out, DeviceSampling sampling) {
        ForwardBatch batch = batch(out, model.launchesAsync());
        PendingIds pending = model.launchSampled(batch, kvCache, sampling);
        tokensForwarded += batch.numTokens();
        previous = new LaunchedStep(out, pending, vocabSize);
        return previous;
    }

    /** The tokens the backend picked for the sampling sequences of {@code out}, in scheduler order. */
    public int[] runSampled(SchedulerOutput out, DeviceSampling sampling) {
        ForwardBatch batch = batch(out, false);
        int[] ids = model.forwardSampled(batch, kvCache, sampling);
        tokensForwarded += batch.numTokens();
        LaunchedStep.checked(ids, batch.logitRows().length, vocabSize);
        previous = new LaunchedStep(out, PendingIds.done(ids), vocabSize);
        return ids;
    }

    /** Logits [R, vocab] of the sampling sequences of {@code out}, in scheduler order. */
    public float[] run(SchedulerOutput out) {
        ForwardBatch batch = batch(out, false);
        float[] logits = model.forward(batch, kvCache);
        tokensForwarded += batch.numTokens();
        previous = null;             // the host samples this step: no placeholder can refer to it
        long expected = (long) batch.logitRows().length * vocabSize;
        if (logits == null || logits.length != expected) {
            throw new IllegalStateException("model returned " + (logits == null ? "no" : logits.length) + " logits for "
                    + batch.logitRows().length + " rows of vocabulary " + vocabSize);
        }
        return logits;
    }

    /** The step's batch; placeholders stay previous rows only for the backend that reads them. */
    private ForwardBatch batch(SchedulerOutput out, boolean keepPreviousRows) {
        LaunchedStep prev = previous;
        ForwardBatch batch = BatchBuilder.build(out, blockSize, prev == null ? seqId -> -1 : prev::rowOf);
        if (keepPreviousRows || !batch.takesPreviousIds()) {
            return batch;
        }
        // a synchronous model computed the previous step on launch, and before a synchronous
        // call the engine has awaited every launched step: its ids are on the host. If that step
        // failed, its requests failed with it and the rows that take its ids are discarded: the
        // placeholder 0 stays.
        int[] ids = prev.failed() ? null : prev.ids();
        int[] tokens = batch.tokenIds().clone();
        int[] rows = batch.previousRows();
        for (int t = 0; t < tokens.length; t++) {
            if (rows[t] >= 0 && ids != null) {
                tokens[t] = ids[rows[t]];
            }
        }
        return new ForwardBatch(tokens, batch.positions(), batch.attention(), batch.logitRows());
    }
}
