package dev.jlight.core.engine;

import dev.jlight.core.backend.KvCache;
import dev.jlight.core.backend.KvCacheSpec;
import dev.jlight.core.weights.DType;
import java.util.Arrays;

/**
 * A KV cache that stores, per slot, the token id and position written there, so that a model
 * reading a sequence back through its block table sees exactly what the engine's block tables
 * and slot mappings made of it.
 */
final class FakeKvCache implements KvCache {
    private final KvCacheSpec spec;
    final long[] slots;

    FakeKvCache(int numBlocks, int blockSize) {
        spec = new KvCacheSpec(1, numBlocks, blockSize, 1, 1, DType.F32);
        slots = new long[numBlocks * blockSize];
        Arrays.fill(slots, -1);
    }

    static long encode(int position, int token) {
        return ((long) position << 32) | (token & 0xffffffffL);
    }

    @Override
    public KvCacheSpec spec() {
        return spec;
    }

    @Override
    public void close() {
    }
}
