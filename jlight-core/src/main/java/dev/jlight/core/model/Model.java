package dev.jlight.core.model;

import dev.jlight.core.backend.Backend;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.backend.KvCacheSpec;
import dev.jlight.core.config.ModelConfig;

/**
 * A loaded model: the math of one architecture bound to weights on a backend. The engine drives
 * it one step at a time; paging, batching and sampling live outside.
 */
public interface Model extends AutoCloseable {

    ModelConfig config();

    Backend backend();

    /** The KV cache shape this model needs for a pool of {@code numBlocks} blocks. */
    KvCacheSpec kvCacheSpec(int numBlocks, int blockSize);

    /**
     * Runs one step. Writes the batch's K/V into {@code kv} at the slots the batch names and
     * returns the logits of {@code batch.logitRows()}: [R, vocabSize] row-major f32 on the host.
     */
    float[] forward(ForwardBatch batch, KvCache kv);

    /** Whether {@link #forwardSampled} works: the backend picks tokens itself. */
    default boolean samplesOnDevice() {
        return false;
    }

    /**
     * Runs one step like {@link #forward} but samples on the backend: returns the token picked
     * for each of {@code batch.logitRows()} under {@code sampling} (one row each), so only R ids
     * come back to the host instead of [R, vocab] logits.
     */
    default int[] forwardSampled(ForwardBatch batch, KvCache kv, DeviceSampling sampling) {
        throw new UnsupportedOperationException("this model does not sample on its backend");
    }

    int vocabSize();

    @Override
    void close();
}
