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

    /**
     * Whether {@link #launchSampled} returns before the step's ids reach the host (a GPU model:
     * the engine then builds and launches the next step while this one runs) and reads
     * {@link ForwardBatch#previousRows()} on the backend.
     */
    default boolean launchesAsync() {
        return false;
    }

    /**
     * Starts a step like {@link #forwardSampled} and returns its ids as {@link PendingIds}. A model
     * that {@link #launchesAsync()} enqueues the step and returns at once; token t with
     * {@code batch.previousRows()[t] >= 0} then takes its id, on the backend, from that row of the
     * ids picked by this model's previous sampled step (launched or not, possibly still running).
     * At most two launched steps are unawaited at a time, awaited in launch order, and every
     * launched step is awaited before {@link #forward} or {@link #forwardSampled} is called.
     *
     * <p>The default runs {@link #forwardSampled} at once; it takes no previous rows (the engine
     * fills them in on the host for a model that does not launch asynchronously).
     */
    default PendingIds launchSampled(ForwardBatch batch, KvCache kv, DeviceSampling sampling) {
        if (batch.takesPreviousIds()) {
            throw new IllegalArgumentException("this model takes no previous-step token ids: resolve them on the host");
        }
        return PendingIds.done(forwardSampled(batch, kv, sampling));
    }

    int vocabSize();

    @Override
    void close();
}
