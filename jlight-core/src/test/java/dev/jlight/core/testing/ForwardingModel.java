package dev.jlight.core.testing;

import dev.jlight.core.backend.Backend;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.backend.KvCacheSpec;
import dev.jlight.core.config.ModelConfig;
import dev.jlight.core.model.DeviceSampling;
import dev.jlight.core.model.ForwardBatch;
import dev.jlight.core.model.Model;

/** A test model around another that passes every call through; subclasses change some of them. */
abstract class ForwardingModel implements Model {
    protected final Model inner;

    ForwardingModel(Model inner) {
        this.inner = inner;
    }

    @Override
    public float[] forward(ForwardBatch batch, KvCache kv) {
        return inner.forward(batch, kv);
    }

    @Override
    public boolean samplesOnDevice() {
        return inner.samplesOnDevice();
    }

    @Override
    public int[] forwardSampled(ForwardBatch batch, KvCache kv, DeviceSampling sampling) {
        return inner.forwardSampled(batch, kv, sampling);
    }

    @Override
    public int vocabSize() {
        return inner.vocabSize();
    }

    @Override
    public KvCacheSpec kvCacheSpec(int numBlocks, int blockSize) {
        return inner.kvCacheSpec(numBlocks, blockSize);
    }

    @Override
    public ModelConfig config() {
        return inner.config();
    }

    @Override
    public Backend backend() {
        return inner.backend();
    }

    @Override
    public void close() {
        inner.close();
    }
}
