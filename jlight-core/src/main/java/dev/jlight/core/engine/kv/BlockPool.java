package dev.jlight.core.engine.kv;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * All KV blocks of the cache: reference counts, the free queue and the prefix cache (hash to
 * block). Any free block serves any request, so allocation never fragments. A block whose count
 * drops to zero goes to the free queue's tail but keeps its prefix-cache entry; the entry is
 * dropped only when the block is handed out again (vLLM's lazy eviction). Not thread-safe.
 */
public final class BlockPool {
    private final KvBlock[] blocks;
    private final FreeBlockQueue free = new FreeBlockQueue();
    private final Map<BlockHash, KvBlock> cached = new HashMap<>();
    private final boolean caching;
    private long evictions;

    public BlockPool(int numBlocks, boolean enablePrefixCaching) {
        if (numBlocks <= 0) {
            throw new IllegalArgumentException("KV block pool needs at least one block, got " + numBlocks);
        }
        blocks = new KvBlock[numBlocks];
        for (int i = 0; i < numBlocks; i++) {
            blocks[i] = new KvBlock(i);
            free.append(blocks[i]);
        }
        caching = enablePrefixCaching;
    }

    /** How many blocks of {@code bytesPerBlock} (see KvCacheSpec.bytesPerBlock) fit a budget. */
    public static int numBlocks(long budgetBytes, long bytesPerBlock) {
        if (bytesPerBlock <= 0) {
            throw new IllegalArgumentException("bytes per KV block must be positive, got " + bytesPerBlock);
        }
        long n = Math.max(0, budgetBytes) / bytesPerBlock;
        return (int) Math.min(n, Integer.MAX_VALUE);
    }

    /** The same from a KV cache spec (any block count; its block size and shape give the bytes per block). */
    public static int numBlocks(long budgetBytes, dev.jlight.core.backend.KvCacheSpec spec) {
        return numBlocks(budgetBytes, spec.bytesPerBlock());
    }

    public int numBlocks() {
        return blocks.length;
    }

    public boolean cachingEnabled() {
        return caching;
    }

    /** Free blocks, counting cached ones nobody uses (they are evicted on demand). */
    public int numFreeBlocks() {
        return free.size();
    }

    /** Fraction of blocks in use by some sequence (vLLM's KV cache usage). */
    public double usage() {
        return 1.0 - (double) free.size() / blocks.length;
    }

    public long evictions() {
        return evictions;
    }

    public int numCachedBlocks() {
        return cached.size();
    }

    public KvBlock block(int id) {
        return blocks[id];
    }

    /** Takes {@code n} blocks from the free queue's head (ref count 1 each), evicting their cache entries. */
    public List<KvBlock> allocate(int n) {
        if (n > free.size()) {
            throw new IllegalStateException("asked for " + n + " KV blocks, " + free.size() + " free");
        }
        List<KvBlock> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            KvBlock b = free.popFront();
            evict(b);
            b.refCount = 1;
            out.add(b);
        }
        return out;
    }

    private void evict(KvBlock b) {
        if (b.hash != null) {
            cached.remove(b.hash);
            b.hash = null;
            b.tokens = null;
            evictions++;
        }
    }

    /** The cached block for {@code hash} holding tokens {@code [from, from+blockSize)} of seq, or null. */
    public KvBlock lookup(BlockHash hash, KvRequest seq, int from) {
        if (!caching) {
            return null;
        }
        KvBlock b = cached.get(hash);
        return b != null && b.holdsTokens(seq, from) ? b : null;
    }

    /**
     * Enters a full, computed block into the prefix cache. When an equal block is already cached
     * this one stays out (block tables are append-only, so nothing is swapped).
     */
    public void cache(KvBlock b, BlockHash hash, KvRequest seq, int from, int blockSize) {
        if (!caching || b.hash != null || cached.containsKey(hash)) {
            return;
        }
        int[] t = new int[blockSize];
        for (int i = 0; i < blockSize; i++) {
            t[i] = seq.tokenAt(from + i);
        }
        b.hash = hash;
        b.tokens = t;
        cached.put(hash, b);
    }

    /** Shares blocks found in the prefix cache: +1 reference each, leaving the free queue if idle. */
    public void touch(List<KvBlock> hit) {
        for (KvBlock b : hit) {
            if (b.refCount == 0) {
                free.remove(b);
            }
            b.refCount++;
        }
    }

    /** Drops one reference per block; blocks reaching zero join the free queue in the given order. */
    public void free(List<KvBlock> evictionOrder) {
        for (KvBlock b : evictionOrder) {
            if (b.refCount <= 0) {
                throw new IllegalStateException("double free of KV block " + b.id());
            }
            if (--b.refCount == 0) {
                if (!caching) {
                    evict(b);
                }
                free.append(b);
            }
        }
    }

    /** Forgets every cached prefix; refused (false) while any block is in use. */
    public boolean resetPrefixCache() {
        if (free.size() != blocks.length) {
            return false;
        }
        for (KvBlock b : blocks) {
            evict(b);
        }
        return true;
    }

    /** Block ids of the free queue, next to be handed out first (for tests and debugging). */
    public List<Integer> freeQueueIds() {
        return free.ids();
    }

    /** Throws when the pool's bookkeeping is inconsistent. Cheap enough for tests after each step. */
    public void checkInvariants() {
        int idle = 0;
        for (KvBlock b : blocks) {
            if (b.refCount < 0) {
                throw new IllegalStateException(b + ": negative ref count");
            }
            if ((b.refCount == 0) != b.inFreeQueue) {
                throw new IllegalStateException(b + ": free-queue membership disagrees with ref count");
            }
            if (b.hash != null && cached.get(b.hash) != b) {
                throw new IllegalStateException(b + ": hashed but not the cache entry for its hash");
            }
            idle += b.refCount == 0 ? 1 : 0;
        }
        if (idle != free.size()) {
            throw new IllegalStateException(idle + " idle blocks but free queue holds " + free.size());
        }
        for (Map.Entry<BlockHash, KvBlock> e : cached.entrySet()) {
            if (!e.getKey().equals(e.getValue().hash)) {
                throw new IllegalStateException("cache entry " + e.getKey() + " points at " + e.getValue());
            }
        }
    }
}
