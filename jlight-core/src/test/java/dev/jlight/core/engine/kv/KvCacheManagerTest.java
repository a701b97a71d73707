package dev.jlight.core.engine.kv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Exact block ids and eviction order, as vLLM's prefix-caching tests assert them. Block size 4. */
class KvCacheManagerTest {
    private static final int BS = 4;

    private static KvCacheManager manager(int numBlocks, boolean caching) {
        return new KvCacheManager(new BlockPool(numBlocks, caching), BS);
    }

    /** Admits a sequence the way the scheduler does: cached prefix, then the rest of its tokens. */
    private static CachedPrefix admit(KvCacheManager m, KvRequest s) {
        CachedPrefix p = m.findCachedPrefix(s);
        int cached = p.numBlocks() * BS;
        assertTrue(m.allocateSlots(s, cached, s.numTokens() - cached, p));
        m.cacheComputedBlocks(s, s.numTokens());
        m.checkInvariants();
        return p;
    }

    @Test
    void prefixHitSharesBlocksAndEvictsTailFirst() {
        KvCacheManager m = manager(10, true);
        TestSeq a = TestSeq.range(1, 0, 11);                       // blocks: [0..3] [4..7] [8..10]
        assertEquals(0, admit(m, a).numBlocks());
        assertArrayEquals(new int[] {0, 1, 2}, m.blockTable(1));

        int[] t = TestSeq.range(2, 0, 11).tokens();
        t[8] = 100;                                                 // same first two blocks
        TestSeq b = new TestSeq(2, t);
        assertEquals(2, admit(m, b).numBlocks());
        assertArrayEquals(new int[] {0, 1, 3}, m.blockTable(2));
        assertEquals(2, m.pool().block(0).refCount());
        assertEquals(2, m.pool().block(1).refCount());
        assertEquals(new PrefixCacheStats(2, 22, 8), m.stats());

        m.free(1);                                                  // frees block 2 only
        assertEquals(List.of(4, 5, 6, 7, 8, 9, 2), m.pool().freeQueueIds());
        m.free(2);                                                  // tail first: 3, then 1, then 0
        assertEquals(List.of(4, 5, 6, 7, 8, 9, 2, 3, 1, 0), m.pool().freeQueueIds());
        m.checkInvariants();

        // Still cached while free: a third sequence takes blocks 0 and 1 back off the free queue.
        TestSeq c = TestSeq.range(3, 0, 9);
        assertEquals(2, admit(m, c).numBlocks());
        assertArrayEquals(new int[] {0, 1, 4}, m.blockTable(3));
        m.free(3);
        // Queue now [5..9, 2, 3, 4, 1, 0]: filling 8 blocks evicts block 1 (cached) but not 0.
        TestSeq d = TestSeq.range(4, 500, 32);
        admit(m, d);
        assertArrayEquals(new int[] {5, 6, 7, 8, 9, 2, 3, 4}, m.blockTable(4));
        m.free(4);
        TestSeq e = TestSeq.range(5, 0, 9);
        CachedPrefix p = m.findCachedPrefix(e);
        assertEquals(2, p.numBlocks(), "blocks 4, 3, 2... went out first; 1 and 0 survive");
        assertEquals(List.of(0, 1), p.blocks().stream().map(KvBlock::id).toList());
    }

    @Test
    void lruEvictionDropsTheOldestFreedPrefix() {
        KvCacheManager m = manager(4, true);
        admit(m, TestSeq.range(1, 0, 5));      // blocks 0 (cached), 1
        m.free(1);                              // queue [2, 3, 1, 0]
        admit(m, TestSeq.range(2, 100, 5));    // blocks 2 (cached), 3
        m.free(2);                              // queue [1, 0, 3, 2]
        admit(m, TestSeq.range(3, 200, 5));    // takes 1 and 0: evicts seq 1's prefix
        assertArrayEquals(new int[] {1, 0}, m.blockTable(3));
        assertEquals(0, m.findCachedPrefix(TestSeq.range(4, 0, 5)).numBlocks());
        assertEquals(1, m.findCachedPrefix(TestSeq.range(5, 100, 5)).numBlocks());
    }

    @Test
    void atLeastOneTokenIsLeftToCompute() {
        KvCacheManager m = manager(8, true);
        admit(m, TestSeq.range(1, 0, 8));      // exactly two full blocks, both cached
        assertEquals(2, m.pool().numCachedBlocks());
        // The same 8 tokens again: only the first block may come from the cache.
        assertEquals(1, m.findCachedPrefix(TestSeq.range(2, 0, 8)).numBlocks());
        // One more token: both blocks.
        assertEquals(2, m.findCachedPrefix(TestSeq.range(3, 0, 9)).numBlocks());
        // A partial last block is never cached.
        admit(m, TestSeq.range(4, 50, 6));
        assertEquals(3, m.pool().numCachedBlocks());
    }

    @Test
    void growsOneBlockAtATimeAndCachesGeneratedBlocks() {
        KvCacheManager m = manager(4, true);
        int[] toks = TestSeq.range(1, 0, 9).tokens();
        TestSeq s = new TestSeq(1, java.util.Arrays.copyOf(toks, 3));
        assertTrue(m.allocateSlots(s, 0, 3, CachedPrefix.NONE));
        assertEquals(1, m.blockTable(1).length);
        // Decode: the 4th and 5th tokens.
        s = new TestSeq(1, java.util.Arrays.copyOf(toks, 4));
        assertTrue(m.allocateSlots(s, 3, 1, CachedPrefix.NONE));
        assertEquals(1, m.blockTable(1).length);
        m.cacheComputedBlocks(s, 4);
        assertEquals(1, m.pool().numCachedBlocks());
        s = new TestSeq(1, java.util.Arrays.copyOf(toks, 5));
        assertTrue(m.allocateSlots(s, 4, 1, CachedPrefix.NONE));
        assertArrayEquals(new int[] {0, 1}, m.blockTable(1));
        m.checkInvariants();
    }

    @Test
    void failedAllocationChangesNothing() {
        KvCacheManager m = manager(3, true);
        admit(m, TestSeq.range(1, 0, 8));      // 2 blocks, both cached
        TestSeq big = TestSeq.range(2, 0, 13); // hits 2 blocks, needs 2 more, 1 free
        CachedPrefix p = m.findCachedPrefix(big);
        assertEquals(2, p.numBlocks());
        assertFalse(m.allocateSlots(big, 8, 5, p));
        assertFalse(m.hasBlocks(2));
        assertEquals(1, m.pool().block(0).refCount());
        assertEquals(new PrefixCacheStats(1, 8, 0), m.stats());
        m.checkInvariants();
        // Idle cached blocks that a sequence hits do not count as free for it.
        m.free(1);
        p = m.findCachedPrefix(big);
        assertFalse(m.allocateSlots(big, 8, 5, p), "3 free blocks, 2 of them the hit itself, 2 more needed");
        m.checkInvariants();
    }

    @Test
    void duplicateBlocksComputedTwiceStayOutOfTheCache() {
        KvCacheManager m = manager(6, true);
        TestSeq a = TestSeq.range(1, 0, 6);
        TestSeq b = TestSeq.range(2, 0, 6);
        assertTrue(m.allocateSlots(a, 0, 6, m.findCachedPrefix(a)));
        assertTrue(m.allocateSlots(b, 0, 6, m.findCachedPrefix(b)));   // both before either computed
        m.cacheComputedBlocks(a, 6);
        m.cacheComputedBlocks(b, 6);
        assertEquals(1, m.pool().numCachedBlocks());
        assertEquals(0, m.blockTable(1)[0]);
        m.free(2);
        m.free(1);
        CachedPrefix p = m.findCachedPrefix(TestSeq.range(3, 0, 6));
        assertEquals(0, p.blocks().getFirst().id());
        m.checkInvariants();
    }

    @Test
    void cachingDisabled() {
        KvCacheManager m = manager(4, false);
        admit(m, TestSeq.range(1, 0, 9));
        m.free(1);
        assertEquals(0, m.findCachedPrefix(TestSeq.range(2, 0, 9)).numBlocks());
        assertEquals(0, m.pool().numCachedBlocks());
        assertEquals(new PrefixCacheStats(0, 0, 0), m.stats());
        m.checkInvariants();
    }

    @Test
    void refCountsReturnToZero() {
        KvCacheManager m = manager(16, true);
        for (int i = 0; i < 5; i++) {
            admit(m, TestSeq.range(i, 0, 10 + i));
        }
        for (int i = 0; i < 5; i++) {
            m.free(i);
        }
        for (int i = 0; i < 16; i++) {
            assertEquals(0, m.pool().block(i).refCount());
        }
        assertEquals(16, m.pool().numFreeBlocks());
        assertEquals(0.0, m.pool().usage());
        m.checkInvariants();
    }
}
