package dev.jlight.core.engine;

import dev.jlight.core.backend.AttentionMetadata;
import dev.jlight.core.backend.Backend;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.backend.KvCacheSpec;
import dev.jlight.core.config.ModelConfig;
import dev.jlight.core.model.DeviceSampling;
import dev.jlight.core.model.ForwardBatch;
import dev.jlight.core.model.Model;
import dev.jlight.core.testing.HostSampledModel;
import dev.jlight.core.weights.DType;
import java.util.SplittableRandom;

/**
 * A model whose logits are a fixed function of the whole token sequence, which it reads back
 * from the {@link FakeKvCache} through the sequence's block table after writing the batch's
 * tokens at their slots (writes first, then reads, like attention). A wrong block table, slot
 * mapping, position or stale block gives other logits or an exception, so outputs match the
 * sequence-alone reference only when the engine pages correctly.
 */
final class FakeModel implements Model {
    final int vocab;
    long tokensForwarded;
    long forwardCalls;
    int maxBatchTokens;
    /** Throw from forward when a batch contains this token id (-1: never). */
    volatile int failOnToken = -1;
    /** Throw from the forward call with this index (0: the first; -1: never) once its K/V are written. */
    volatile long failOnCall = -1;
    /** Sleep this long in each forward (to let other threads act mid-request). */
    volatile long delayMillis;

    FakeModel(int vocab) {
        this.vocab = vocab;
    }

    /** The logits for the next token after {@code tokens}: pseudo-random, seeded by a hash of all of them. */
    static float[] logitsFor(int[] tokens, int len, int vocab) {
        long h = 0x9E3779B97F4A7C15L;
        for (int i = 0; i < len; i++) {
            h = (h ^ tokens[i]) * 0xBF58476D1CE4E5B9L + i;
        }
        SplittableRandom r = new SplittableRandom(h);
        float[] out = new float[vocab];
        for (int i = 0; i < vocab; i++) {
            out[i] = (float) (r.nextGaussian() * 3);
        }
        return out;
    }

    /** Whether the model claims to sample on its backend (then {@link #forwardSampled} works). */
    boolean deviceSampling;
    long sampledCalls;

    @Override
    public boolean samplesOnDevice() {
        return deviceSampling;
    }

    /** Sampling "on the device": the host Sampler's twin of the backend op, over this step's logits. */
    @Override
    public int[] forwardSampled(ForwardBatch batch, KvCache kv, DeviceSampling sampling) {
        if (!deviceSampling) {
            throw new IllegalStateException("device sampling called while off");
        }
        int[] ids = HostSampledModel.pick(forward(batch, kv), vocab, sampling);
        sampledCalls++;
        return ids;
    }

    @Override
    public float[] forward(ForwardBatch batch, KvCache kv) {
        FakeKvCache cache = (FakeKvCache) kv;
        AttentionMetadata m = batch.attention();
        int bs = m.blockSize();
        if (delayMillis > 0) {
            try {
                Thread.sleep(delayMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (int t : batch.tokenIds()) {
            if (t == failOnToken) {
                throw new IllegalStateException("injected failure on token " + t);
            }
        }
        for (int s = 0; s < m.numSeqs(); s++) {
            int start = m.seqLens()[s] - m.queryLen(s);
            for (int t = m.queryStart()[s]; t < m.queryStart()[s + 1]; t++) {
                if (batch.positions()[t] != start + t - m.queryStart()[s]) {
                    throw new IllegalStateException("token " + t + " at position " + batch.positions()[t]);
                }
            }
        }
        for (int t = 0; t < batch.numTokens(); t++) {
            cache.slots[m.slotMapping()[t]] = FakeKvCache.encode(batch.positions()[t], batch.tokenIds()[t]);
        }
        if (forwardCalls == failOnCall) {      // after the K/V writes, like a failure late in a step
            forwardCalls++;
            throw new IllegalStateException("injected failure of forward call " + failOnCall);
        }
        float[] out = new float[batch.logitRows().length * vocab];
        for (int r = 0; r < batch.logitRows().length; r++) {
            int s = seqOfRow(m, batch.logitRows()[r]);
            int len = m.seqLens()[s];
            int[] tokens = new int[len];
            for (int p = 0; p < len; p++) {
                long v = cache.slots[m.blockTables()[s][p / bs] * bs + p % bs];
                if ((int) (v >>> 32) != p) {
                    throw new IllegalStateException("sequence " + s + " reads position " + (v >>> 32) + " at " + p);
                }
                tokens[p] = (int) v;
            }
            System.arraycopy(logitsFor(tokens, len, vocab), 0, out, r * vocab, vocab);
        }
        tokensForwarded += batch.numTokens();
        forwardCalls++;
        maxBatchTokens = Math.max(maxBatchTokens, batch.numTokens());
        return out;
    }

    private static int seqOfRow(AttentionMetadata m, int row) {
        for (int s = 0; s < m.numSeqs(); s++) {
            if (m.queryStart()[s + 1] - 1 == row) {
                return s;
            }
        }
        throw new IllegalStateException("logit row " + row + " is not the last token of a sequence");
    }

    @Override
    public int vocabSize() {
        return vocab;
    }

    @Override
    public KvCacheSpec kvCacheSpec(int numBlocks, int blockSize) {
        return new KvCacheSpec(1, numBlocks, blockSize, 1, 1, DType.F32);
    }

    @Override
    public ModelConfig config() {
        return null;
    }

    @Override
    public Backend backend() {
        return null;
    }

    @Override
    public void close() {
    }
}
