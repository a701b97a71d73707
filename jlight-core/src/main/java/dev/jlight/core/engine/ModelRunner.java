package dev.jlight.core.engine;

import dev.jlight.core.backend.KvCache;
import dev.jlight.core.model.DeviceSampling;
import dev.jlight.core.model.Model;
import dev.jlight.core.model.ForwardBatch;

/**
 * Runs one scheduled step on the model: builds the flat batch and calls
 * {@link Model#forward}, returning one row of logits per sampling sequence. Knows nothing of the
 * backend behind the model.
 */
public final class ModelRunner {
    private final Model model;
    private final KvCache kvCache;
    private final int blockSize;
    private final int vocabSize;
    private long tokensForwarded;

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

    /** The tokens the backend picked for the sampling sequences of {@code out}, in scheduler order. */
    public int[] runSampled(SchedulerOutput out, DeviceSampling sampling) {
        ForwardBatch batch = BatchBuilder.build(out, blockSize);
        int[] ids = model.forwardSampled(batch, kvCache, sampling);
        tokensForwarded += batch.numTokens();
        if (ids == null || ids.length != batch.logitRows().length) {
            throw new IllegalStateException("model returned " + (ids == null ? "no" : ids.length) + " token ids for "
                    + batch.logitRows().length + " rows");
        }
        for (int id : ids) {
            if (id < 0 || id >= vocabSize) {
                throw new IllegalStateException("backend sampled token " + id + " outside vocabulary " + vocabSize);
            }
        }
        return ids;
    }

    /** Logits [R, vocab] of the sampling sequences of {@code out}, in scheduler order. */
    public float[] run(SchedulerOutput out) {
        ForwardBatch batch = BatchBuilder.build(out, blockSize);
        float[] logits = model.forward(batch, kvCache);
        tokensForwarded += batch.numTokens();
        long expected = (long) batch.logitRows().length * vocabSize;
        if (logits == null || logits.length != expected) {
            throw new IllegalStateException("model returned " + (logits == null ? "no" : logits.length) + " logits for "
                    + batch.logitRows().length + " rows of vocabulary " + vocabSize);
        }
        return logits;
    }
}
