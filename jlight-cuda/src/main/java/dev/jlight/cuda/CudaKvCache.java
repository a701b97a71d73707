package dev.jlight.cuda;

import dev.jlight.core.backend.KvCache;
import dev.jlight.core.backend.KvCacheSpec;

/**
 * The paged K/V pools of all layers in one arena block: layer l's K pool, then its V pool, each
 * [numBlocks, blockSize, numKvHeads, headDim] bf16 (vLLM's layout).
 */
final class CudaKvCache implements KvCache {
    private final KvCacheSpec spec;
    private final CudaTensor.Storage storage;
    private final long poolBytes;
    private final CudaBackend owner;

    CudaKvCache(KvCacheSpec spec, CudaTensor.Storage storage, CudaBackend owner) {
        this.spec = spec;
        this.storage = storage;
        this.owner = owner;
        this.poolBytes = (long) spec.numBlocks() * spec.blockSize() * spec.numKvHeads() * spec.headDim()
                * spec.dtype().bytes();
    }

    @Override
    public KvCacheSpec spec() {
        return spec;
    }

    CudaBackend owner() {
        return owner;
    }

    long kPool(int layer) {
        check(layer);
        return storage.block.address() + 2L * layer * poolBytes;
    }

    long vPool(int layer) {
        check(layer);
        return storage.block.address() + (2L * layer + 1) * poolBytes;
    }

    private void check(int layer) {
        if (storage.released()) {
            throw new IllegalStateException("KV cache was closed");
        }
        if (layer < 0 || layer >= spec.numLayers()) {
            throw new IllegalArgumentException("layer " + layer + " of a KV cache of " + spec.numLayers() + " layers");
        }
    }

    @Override
    public void close() {
        if (!storage.released()) {
            if (!owner.isClosed()) {
                owner.synchronize(); // kernels still queued may read the pools
            }
            storage.release();
        }
    }
}
