package dev.jlight.core.engine.kv;

import java.util.Arrays;

/**
 * One physical block of the paged KV cache. Mutable bookkeeping owned by {@link BlockPool}:
 * reference count, free-queue links and, while it is in the prefix cache, its hash and tokens.
 */
public final class KvBlock {
    private final int id;
    int refCount;
    BlockHash hash;
    int[] tokens;
    KvBlock prevFree;
    KvBlock nextFree;
    boolean inFreeQueue;

    KvBlock(int id) {
        this.id = id;
    }

    public int id() {
        return id;
    }

    public int refCount() {
        return refCount;
    }

    /** The prefix-cache key, or null when the block is not in the prefix cache. */
    public BlockHash hash() {
        return hash;
    }

    boolean holdsTokens(KvRequest seq, int from) {
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] != seq.tokenAt(from + i)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return "KvBlock[" + id + ", ref=" + refCount + (hash == null ? "" : ", cached " + Arrays.toString(tokens)) + "]";
    }
}
