package dev.jlight.core.engine.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class BlockPoolTest {

    private static List<Integer> ids(List<KvBlock> blocks) {
        return blocks.stream().map(KvBlock::id).toList();
    }

    @Test
    void numBlocksFromBudget() {
        assertEquals(10, BlockPool.numBlocks(10_000, 1000));
        assertEquals(9, BlockPool.numBlocks(9_999, 1000));
        assertEquals(0, BlockPool.numBlocks(999, 1000));
        assertEquals(0, BlockPool.numBlocks(-5, 1000));
        assertEquals(Integer.MAX_VALUE, BlockPool.numBlocks(Long.MAX_VALUE, 1));
        assertThrows(IllegalArgumentException.class, () -> BlockPool.numBlocks(100, 0));
        // 2 layers x (K+V) x 4 kv heads x 64 dims x 2 bytes x 16 tokens = 32 KiB per block.
        var spec = new dev.jlight.core.backend.KvCacheSpec(2, 1, 16, 4, 64, dev.jlight.core.weights.DType.BF16);
        assertEquals(32768, spec.bytesPerBlock());
        assertEquals(32, BlockPool.numBlocks(1L << 20, spec));
    }

    @Test
    void allocatesFromHeadAndFreesToTail() {
        BlockPool pool = new BlockPool(6, true);
        assertEquals(List.of(0, 1, 2), ids(pool.allocate(3)));
        List<KvBlock> b = pool.allocate(2);
        assertEquals(List.of(3, 4), ids(b));
        assertEquals(1, pool.numFreeBlocks());
        pool.free(b.reversed());
        assertEquals(List.of(5, 4, 3), pool.freeQueueIds());
        assertEquals(List.of(5, 4, 3), ids(pool.allocate(3)));
        assertThrows(IllegalStateException.class, () -> pool.allocate(1));
        pool.checkInvariants();
    }

    @Test
    void anyFreeBlockServesNoFragmentation() {
        BlockPool pool = new BlockPool(8, false);
        List<KvBlock> all = pool.allocate(8);
        // Free every other block: the 4 holes serve a 4-block request.
        pool.free(List.of(all.get(1), all.get(3), all.get(5), all.get(7)));
        assertEquals(List.of(1, 3, 5, 7), ids(pool.allocate(4)));
        pool.checkInvariants();
    }

    @Test
    void doubleFreeIsRefused() {
        BlockPool pool = new BlockPool(2, true);
        List<KvBlock> b = pool.allocate(1);
        pool.free(b);
        assertThrows(IllegalStateException.class, () -> pool.free(b));
    }

    @Test
    void cachedBlockSurvivesFreeUntilHandedOutAgain() {
        BlockPool pool = new BlockPool(3, true);
        TestSeq s = TestSeq.of(1, 7, 8, 9, 10);
        BlockHash h = new BlockHasher(4).hash(BlockHash.ROOT, s, 0, 4);
        KvBlock b = pool.allocate(1).getFirst();
        pool.cache(b, h, s, 0, 4);
        pool.free(List.of(b));
        assertSame(b, pool.lookup(h, s, 0));
        assertEquals(1, pool.numCachedBlocks());
        // Same hash, other tokens: the token check refuses the hit.
        assertNull(pool.lookup(h, TestSeq.of(2, 7, 8, 9, 11), 0));
        // Block 0 went back last, so it is evicted last: two allocations leave it cached.
        assertEquals(List.of(1, 2, 0), pool.freeQueueIds());
        pool.allocate(2);
        assertSame(b, pool.lookup(h, s, 0));
        pool.allocate(1);
        assertNull(pool.lookup(h, s, 0));
        assertEquals(1, pool.evictions());
        pool.checkInvariants();
    }

    @Test
    void touchTakesIdleCachedBlockOffTheFreeQueue() {
        BlockPool pool = new BlockPool(3, true);
        TestSeq s = TestSeq.of(1, 1, 2);
        BlockHash h = new BlockHasher(2).hash(BlockHash.ROOT, s, 0, 2);
        KvBlock b = pool.allocate(1).getFirst();
        pool.cache(b, h, s, 0, 2);
        pool.free(List.of(b));
        pool.touch(List.of(b));
        assertEquals(1, b.refCount());
        assertEquals(List.of(1, 2), pool.freeQueueIds());
        pool.touch(List.of(b));
        assertEquals(2, b.refCount());
        pool.checkInvariants();
    }

    @Test
    void disabledCachingNeverHits() {
        BlockPool pool = new BlockPool(2, false);
        TestSeq s = TestSeq.of(1, 1, 2);
        BlockHash h = new BlockHasher(2).hash(BlockHash.ROOT, s, 0, 2);
        KvBlock b = pool.allocate(1).getFirst();
        pool.cache(b, h, s, 0, 2);
        assertNull(b.hash());
        assertNull(pool.lookup(h, s, 0));
    }

    @Test
    void resetPrefixCacheOnlyWhenIdle() {
        BlockPool pool = new BlockPool(2, true);
        TestSeq s = TestSeq.of(1, 1, 2);
        BlockHash h = new BlockHasher(2).hash(BlockHash.ROOT, s, 0, 2);
        KvBlock b = pool.allocate(1).getFirst();
        pool.cache(b, h, s, 0, 2);
        assertFalse(pool.resetPrefixCache());
        pool.free(List.of(b));
        assertTrue(pool.resetPrefixCache());
        assertNull(pool.lookup(h, s, 0));
        pool.checkInvariants();
    }

    @Test
    void hashChainsOverTheParent() {
        BlockHasher hasher = new BlockHasher(2);
        TestSeq s = TestSeq.of(1, 5, 6, 5, 6);
        BlockHash first = hasher.hash(BlockHash.ROOT, s, 0, 2);
        BlockHash second = hasher.hash(first, s, 2, 2);
        assertNotEquals(first, second, "same tokens under another parent hash differently");
        assertEquals(first, hasher.hash(BlockHash.ROOT, TestSeq.of(9, 5, 6), 0, 2));
        assertNotEquals(first, hasher.hash(BlockHash.ROOT, TestSeq.of(9, 6, 5), 0, 2));
    }
}
