package dev.jlight.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jlight.cuda.DeviceArena.Block;
import dev.jlight.cuda.DeviceArena.Purpose;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The arena is bookkeeping only, so it is tested here without a GPU, on a made-up address range. */
class DeviceArenaTest {
    private static final long BASE = 1L << 40;
    private static final long GIB = 1L << 30;

    @Test
    void blocksAre256ByteAlignedAndDisjoint() {
        DeviceArena a = new DeviceArena(BASE, 1 << 20, "test");
        List<Block> blocks = new ArrayList<>();
        for (int n : new int[] {1, 255, 256, 257, 1000, 4096, 3}) {
            Block b = a.allocate(n, Purpose.WORKSPACE, "n=" + n);
            assertEquals(0, b.address() % 256, "alignment of " + n);
            assertTrue(b.size() >= n && b.size() % 256 == 0);
            for (Block o : blocks) {
                assertTrue(b.address() + b.size() <= o.address() || o.address() + o.size() <= b.address(),
                        "overlap " + b + " " + o);
            }
            blocks.add(b);
        }
        assertEquals(256 + 256 + 256 + 512 + 1024 + 4096 + 256, a.used());
    }

    @Test
    void freeCoalescesSoTheWholeRangeComesBack() {
        DeviceArena a = new DeviceArena(BASE, 64 << 10, "test");
        Random r = new Random(1);
        List<Block> live = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            if (!live.isEmpty() && (r.nextBoolean() || a.largestFree() < 4096)) {
                a.free(live.remove(r.nextInt(live.size())));
            } else {
                live.add(a.allocate(1 + r.nextInt(4096), Purpose.WORKSPACE, "random"));
            }
        }
        live.forEach(a::free);
        assertEquals(0, a.used());
        assertEquals(64 << 10, a.largestFree(), "free list merged back into one block");
        assertEquals(0, a.liveBlocks());
    }

    @Test
    void bestFitReusesTheHoleOfFreedParts() {
        DeviceArena a = new DeviceArena(BASE, 10 << 20, "test");
        Block q = a.allocate(1 << 20, Purpose.WEIGHTS, "q");
        Block k = a.allocate(1 << 18, Purpose.WEIGHTS, "k");
        Block big = a.allocate(4 << 20, Purpose.WEIGHTS, "rest");
        a.free(q);
        a.free(k);
        Block again = a.allocate(1 << 20, Purpose.WEIGHTS, "q of the next layer");
        assertEquals(BASE, again.address(), "the freed hole at the bottom is reused");
        assertTrue(big.address() > again.address());
    }

    @Test
    void peakAndPerPurposeAccounting() {
        DeviceArena a = new DeviceArena(BASE, 8 << 20, "test");
        Block w = a.allocate(3 << 20, Purpose.WEIGHTS, "w");
        Block kv = a.allocate(2 << 20, Purpose.KV_CACHE, "kv");
        Block ws = a.allocate(1 << 20, Purpose.WORKSPACE, "ws");
        a.free(ws);
        assertEquals(6 << 20, a.peak());
        assertEquals(5 << 20, a.used());
        assertEquals(3 << 20, a.used(Purpose.WEIGHTS));
        assertEquals(2 << 20, a.used(Purpose.KV_CACHE));
        assertEquals(0, a.used(Purpose.WORKSPACE));
        a.free(w);
        a.free(kv);
        assertTrue(a.summary().contains("peak 6.0 MiB"), a.summary());
    }

    @Test
    void doubleFreeIsCaught() {
        DeviceArena a = new DeviceArena(BASE, 1 << 20, "test");
        Block b = a.allocate(1000, Purpose.WORKSPACE, "b");
        a.free(b);
        assertThrows(IllegalStateException.class, () -> a.free(b));
    }

    @Test
    void weightsThatDoNotFitSayHowMuchIsNeededAndWhy() {
        String sizing = "gpu-memory-utilization 0.90 of 79.11 GiB, 0.52 GiB already in use";
        DeviceArena a = new DeviceArena(BASE, 15 * GIB, sizing);
        a.allocate(14 * GIB, Purpose.WEIGHTS, "layers 0-27");
        var e = assertThrows(DeviceArena.OutOfArenaException.class,
                () -> a.allocate(2 * GIB, Purpose.WEIGHTS, "model.layers.28.mlp.up_proj.weight"));
        assertEquals("weights need at least 16.00 GiB (14.00 GiB loaded + 2.00 GiB for "
                + "model.layers.28.mlp.up_proj.weight), arena has 15.00 GiB (" + sizing + ")", e.getMessage());
    }

    @Test
    void kvCacheThatDoesNotFitSaysWhatIsLeftAfterWeights() {
        DeviceArena a = new DeviceArena(BASE, 20 * GIB, "gpu-memory-utilization 0.25 of 80.00 GiB");
        a.allocate(15 * GIB, Purpose.WEIGHTS, "weights");
        var e = assertThrows(DeviceArena.OutOfArenaException.class,
                () -> a.allocate(8 * GIB, Purpose.KV_CACHE, "65536 blocks"));
        assertEquals("KV cache needs 8.00 GiB (65536 blocks), arena has 5.00 GiB free after 15.00 GiB of weights"
                + " (gpu-memory-utilization 0.25 of 80.00 GiB)", e.getMessage());
    }

    @Test
    void misalignedBaseIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> new DeviceArena(BASE + 8, 1 << 20, "test"));
    }

    @Test
    void matmulAlignmentIsTheLargestPowerOfTwoOfAddressAndRows() {
        assertEquals(256, Matmul.alignment(BASE, 8192));
        assertEquals(16, Matmul.alignment(BASE + 16, 8192));
        assertEquals(2, Matmul.alignment(BASE + 2, 8192));
        assertEquals(8, Matmul.alignment(BASE, 8 * 3), "a row stride of 12 bf16 keeps only 8-byte alignment");
    }
}
