package dev.jlight.core.engine.kv;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Per-sequence block tables on top of a {@link BlockPool} (vLLM's KVCacheManager): finds a
 * sequence's cached prefix, grows its table as its computed tokens grow, enters its full
 * computed blocks into the prefix cache, and frees its blocks. Engine thread only.
 */
public final class KvCacheManager {
    private final BlockPool pool;
    private final int blockSize;
    private final BlockHasher hasher;
    private final Map<Long, SeqBlocks> tables = new HashMap<>();
    private long queries;
    private long queriedTokens;
    private long hitTokens;

    /** A sequence's blocks and the hashes of its leading full, computed blocks. */
    private static final class SeqBlocks {
        final List<KvBlock> blocks = new ArrayList<>();
        final List<BlockHash> hashes = new ArrayList<>();
    }

    public KvCacheManager(BlockPool pool, int blockSize) {
        if (blockSize <= 0) {
            throw new IllegalArgumentException("block size must be positive, got " + blockSize);
        }
        this.pool = pool;
        this.blockSize = blockSize;
        this.hasher = new BlockHasher(blockSize);
    }

    public BlockPool pool() {
        return pool;
    }

    public int blockSize() {
        return blockSize;
    }

    /** Blocks needed to hold {@code numTokens} tokens. */
    public int blocksFor(int numTokens) {
        return (numTokens + blockSize - 1) / blockSize;
    }

    /**
     * The longest run of leading full blocks of {@code seq} found in the prefix cache. At least one
     * token is always left to compute (so the step has logits to sample), so a sequence never
     * takes its own last block from the cache, full or partial.
     */
    public CachedPrefix findCachedPrefix(KvRequest seq) {
        if (!pool.cachingEnabled() || tables.containsKey(seq.seqId())) {
            return CachedPrefix.NONE;
        }
        int maxBlocks = (seq.numTokens() - 1) / blockSize;
        List<KvBlock> hit = new ArrayList<>();
        List<BlockHash> hashes = new ArrayList<>();
        BlockHash parent = BlockHash.ROOT;
        for (int i = 0; i < maxBlocks; i++) {
            BlockHash h = hasher.hash(parent, seq, i * blockSize, blockSize);
            KvBlock b = pool.lookup(h, seq, i * blockSize);
            if (b == null) {
                break;
            }
            hit.add(b);
            hashes.add(h);
            parent = h;
        }
        return new CachedPrefix(hit, hashes);
    }

    /**
     * Makes room for {@code numNewTokens} more tokens after {@code numComputedTokens} (which counts
     * {@code prefix}, given only when the sequence is admitted). Returns false, changing nothing,
     * when the pool cannot supply the blocks.
     */
    public boolean allocateSlots(KvRequest seq, int numComputedTokens, int numNewTokens, CachedPrefix prefix) {
        SeqBlocks s = tables.get(seq.seqId());
        if (s != null && !prefix.isEmpty()) {
            throw new IllegalStateException("sequence " + seq.seqId() + " already has blocks; a cached prefix is for admission");
        }
        int have = (s == null ? 0 : s.blocks.size()) + prefix.numBlocks();
        int need = Math.max(0, blocksFor(numComputedTokens + numNewTokens) - have);
        int idleHits = 0;
        for (KvBlock b : prefix.blocks()) {
            idleHits += b.refCount == 0 ? 1 : 0;
        }
        if (need > pool.numFreeBlocks() - idleHits) {
            return false;
        }
        if (s == null) {
            s = new SeqBlocks();
            tables.put(seq.seqId(), s);
            if (pool.cachingEnabled()) {
                queries++;
                queriedTokens += seq.numTokens();
                hitTokens += (long) prefix.numBlocks() * blockSize;
            }
        }
        pool.touch(prefix.blocks());
        s.blocks.addAll(prefix.blocks());
        s.hashes.addAll(prefix.hashes());
        if (need > 0) {
            s.blocks.addAll(pool.allocate(need));
        }
        return true;
    }

    /** Enters the sequence's full blocks among its first {@code numComputedTokens} into the prefix cache. */
    public void cacheComputedBlocks(KvRequest seq, int numComputedTokens) {
        SeqBlocks s = tables.get(seq.seqId());
        if (s == null || !pool.cachingEnabled()) {
            return;
        }
        int full = Math.min(numComputedTokens / blockSize, s.blocks.size());
        for (int i = s.hashes.size(); i < full; i++) {
            BlockHash parent = i == 0 ? BlockHash.ROOT : s.hashes.get(i - 1);
            BlockHash h = hasher.hash(parent, seq, i * blockSize, blockSize);
            pool.cache(s.blocks.get(i), h, seq, i * blockSize, blockSize);
            s.hashes.add(h);
        }
    }

    /** Frees the sequence's blocks, last block first so a prefix's tail is evicted before its head. */
    public void free(long seqId) {
        SeqBlocks s = tables.remove(seqId);
        if (s != null) {
            pool.free(s.blocks.reversed());
        }
    }

    public boolean hasBlocks(long seqId) {
        return tables.containsKey(seqId);
    }

    /** Physical block ids of the sequence's logical blocks, in order (empty if it holds none). */
    public int[] blockTable(long seqId) {
        SeqBlocks s = tables.get(seqId);
        if (s == null) {
            return new int[0];
        }
        int[] t = new int[s.blocks.size()];
        for (int i = 0; i < t.length; i++) {
            t[i] = s.blocks.get(i).id();
        }
        return t;
    }

    public int numSequences() {
        return tables.size();
    }

    public PrefixCacheStats stats() {
        return new PrefixCacheStats(queries, queriedTokens, hitTokens);
    }

    /** Throws unless every block's ref count equals the number of block tables holding it. */
    public void checkInvariants() {
        pool.checkInvariants();
        int[] refs = new int[pool.numBlocks()];
        for (Map.Entry<Long, SeqBlocks> e : tables.entrySet()) {
            List<KvBlock> blocks = e.getValue().blocks;
            for (KvBlock b : blocks) {
                refs[b.id()]++;
            }
            if (blocks.stream().distinct().count() != blocks.size()) {
                throw new IllegalStateException("sequence " + e.getKey() + " holds a block twice: " + blocks);
            }
        }
        for (int i = 0; i < refs.length; i++) {
            if (refs[i] != pool.block(i).refCount) {
                throw new IllegalStateException("block " + i + ": ref count " + pool.block(i).refCount
                        + " but " + refs[i] + " block tables hold it");
            }
        }
    }
}
