package dev.jlight.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jlight.core.backend.Backend;
import dev.jlight.core.backend.KvCacheSpec;
import dev.jlight.core.backend.Tensor;
import dev.jlight.core.weights.DType;
import dev.jlight.core.weights.WeightTensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ServiceLoader;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Tensors, views, upload/download, weights in place, discovery, the worker pool. */
class MemoryTest {
    private static CpuBackend backend;

    @BeforeAll
    static void open() {
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    @Test
    void allocateIs64ByteAligned() {
        for (int n : new int[] {1, 3, 17, 1000}) {
            CpuTensor t = (CpuTensor) backend.allocate(DType.F32, n, 3);
            assertEquals(0, t.segment().address() % 64, "allocation of " + n + " rows");
            assertEquals(n * 3L * 4, t.segment().byteSize());
        }
    }

    @Test
    void uploadDownloadRoundTrips() {
        int[] ids = {5, -1, 7, 1 << 30};
        Tensor t = backend.allocate(DType.I32, 4);
        backend.upload(t, MemorySegment.ofArray(ids));
        int[] back = new int[4];
        backend.download(t, MemorySegment.ofArray(back));
        assertArrayEquals(ids, back);

        float[] f = {1.5f, -2f, 3.25f, 4f, 5f, 6f};
        Tensor ft = backend.allocate(DType.F32, 2, 3);
        backend.upload(ft, MemorySegment.ofArray(f));
        float[] fb = new float[6];
        backend.download(ft, MemorySegment.ofArray(fb));
        assertArrayEquals(f, fb);
    }

    @Test
    void downloadOfViewsIsDense() {
        float[] f = new float[4 * 5];
        for (int i = 0; i < f.length; i++) {
            f[i] = i;
        }
        Tensor t = backend.allocate(DType.F32, 4, 5);
        backend.upload(t, MemorySegment.ofArray(f));
        Tensor view = backend.sliceCols(backend.sliceRows(t, 1, 3), 2, 4);
        assertArrayEquals(new long[] {2, 2}, view.shape());
        assertEquals(5, view.rowStride());
        assertFalse(view.isContiguous());
        float[] got = new float[4];
        backend.download(view, MemorySegment.ofArray(got));
        assertArrayEquals(new float[] {7, 8, 12, 13}, got);

        // upload into a strided view writes only the view
        backend.upload(view, MemorySegment.ofArray(new float[] {-1, -2, -3, -4}));
        float[] all = new float[20];
        backend.download(t, MemorySegment.ofArray(all));
        assertEquals(-1, all[7]);
        assertEquals(-4, all[13]);
        assertEquals(6, all[6]);
        assertEquals(9, all[9]);
    }

    @Test
    void sliceRowsOfAVectorCutsElements() {
        Tensor ids = CpuTensor.of(new int[] {4, 5, 6, 7});
        Tensor first = backend.sliceRows(ids, 0, 2);
        assertArrayEquals(new long[] {2}, first.shape());
        assertArrayEquals(new int[] {4, 5}, ((CpuTensor) first).toIntArray());
        assertArrayEquals(new int[] {6, 7}, ((CpuTensor) backend.sliceRows(ids, 2, 4)).toIntArray());
    }

    @Test
    void concatKeepsThePartsAndDownloadsThemInOrder() {
        Tensor a = TestSupport.weight(backend, DType.BF16, new float[] {1, 2, 3, 4}, 2, 2);
        Tensor b = TestSupport.weight(backend, DType.BF16, new float[] {5, 6}, 1, 2);
        CpuTensor c = (CpuTensor) backend.concatRows(a, b);
        assertTrue(c.isConcat());
        assertArrayEquals(new long[] {3, 2}, c.shape());
        assertEquals(((CpuTensor) a).segment().address(), c.parts()[0].segment().address(), "no copy");
        short[] got = new short[6];
        backend.download(c, MemorySegment.ofArray(got));
        for (int i = 0; i < 6; i++) {
            assertEquals(i + 1f, DType.bf16ToFloat(got[i]));
        }
        assertArrayEquals(new float[] {2, 4, 6}, ((CpuTensor) backend.sliceCols(c, 1, 2)).toFloatArray());
        assertArrayEquals(new float[] {3, 4, 5, 6}, ((CpuTensor) backend.sliceRows(c, 1, 3)).toFloatArray());
    }

    @Test
    void weightsAreUsedInPlace() {
        MemorySegment data = Arena.ofAuto().allocate(8 * 2, 64);
        WeightTensor w = new WeightTensor("model.norm.weight", DType.BF16, new long[] {8}, data, null);
        CpuTensor t = (CpuTensor) backend.weight(w);
        assertEquals(data.address(), t.segment().address());
        assertEquals(DType.BF16, t.dtype());
        data.setAtIndex(ValueLayout.JAVA_SHORT, 3, DType.floatToBf16(2.5f));
        assertEquals(2.5f, t.getFloat(0, 3), "reads the file's bytes, not a copy");
    }

    @Test
    void f16VectorWideningMatchesFloat16ToFloatOnEveryBitPattern() {
        MemorySegment s = Arena.ofAuto().allocate(65536 * 2, 64);
        for (int i = 0; i < 65536; i++) {
            s.setAtIndex(ValueLayout.JAVA_SHORT, i, (short) i);
        }
        float[] lanes = new float[Vec.L];
        for (int i = 0; i < 65536; i += Vec.L) {
            Vec.f16(s, 2L * i).intoArray(lanes, 0);
            for (int j = 0; j < Vec.L; j++) {
                float want = Float.float16ToFloat((short) (i + j));
                if (Float.isNaN(want)) {
                    assertTrue(Float.isNaN(lanes[j]), "f16 " + Integer.toHexString(i + j));
                } else {
                    assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(lanes[j]),
                            "f16 " + Integer.toHexString(i + j));
                }
            }
        }
    }

    /** The pair loads of the matmul and attention kernels: even/odd elements of 2L 16-bit values, every pattern. */
    @Test
    void pairLoadsWidenEveryBitPatternExactly() {
        MemorySegment s = Arena.ofAuto().allocate(65536 * 2, 64);
        for (int i = 0; i < 65536; i++) {
            s.setAtIndex(ValueLayout.JAVA_SHORT, i, (short) i);
        }
        int l = Vec.L;
        float[] even = new float[l];
        float[] odd = new float[l];
        for (DType dt : new DType[] {DType.BF16, DType.F16}) {
            for (int i = 0; i < 65536; i += 2 * l) {
                var p = Vec.ints(s, 2L * i);
                (dt == DType.BF16 ? Vec.bf16Even(p) : Vec.f16Even(p)).intoArray(even, 0);
                (dt == DType.BF16 ? Vec.bf16Odd(p) : Vec.f16Odd(p)).intoArray(odd, 0);
                for (int j = 0; j < l; j++) {
                    checkBits(dt, i + 2 * j, even[j]);
                    checkBits(dt, i + 2 * j + 1, odd[j]);
                }
            }
        }
    }

    private static void checkBits(DType dt, int bits, float got) {
        float want = dt == DType.BF16 ? DType.bf16ToFloat((short) bits) : Float.float16ToFloat((short) bits);
        if (Float.isNaN(want)) {
            assertTrue(Float.isNaN(got), dt + " " + Integer.toHexString(bits));
        } else {
            assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got), dt + " " + Integer.toHexString(bits));
        }
    }

    @Test
    void permuteSplitsEachBlockIntoEvensThenOdds() {
        int l = Vec.L;
        int k = 4 * l + 3;
        float[] a = new float[k + 2];
        for (int i = 0; i < a.length; i++) {
            a[i] = i - 1;
        }
        Matmul.permute(a, 1, k);
        assertEquals(-1, a[0]);
        for (int b = 0; b < 2; b++) {
            for (int j = 0; j < l; j++) {
                assertEquals(b * 2 * l + 2 * j, a[1 + b * 2 * l + j]);
                assertEquals(b * 2 * l + 2 * j + 1, a[1 + b * 2 * l + l + j]);
            }
        }
        for (int i = 4 * l; i < k; i++) {
            assertEquals(i, a[1 + i], "tail stays in place");
        }
        Attention.unpermute(a, 1, k);
        for (int i = 0; i < a.length; i++) {
            assertEquals(i - 1, a[i]);
        }
    }

    @Test
    void kvCacheIsDiscoveredAndClosedWithTheBackend() {
        CpuBackend b = new CpuBackend(1);
        CpuKvCache cache = (CpuKvCache) b.allocateKvCache(new KvCacheSpec(2, 4, 16, 2, 8, DType.BF16));
        assertEquals(4L * 16 * 2 * 8 * 2, cache.keys(1).byteSize());
        b.close();
        assertThrows(IllegalStateException.class, () -> cache.keys(0).get(ValueLayout.JAVA_BYTE, 0));
    }

    @Test
    void serviceLoaderFindsTheBackend() {
        Backend found = null;
        for (Backend b : ServiceLoader.load(Backend.class)) {
            if (b.name().equals("cpu")) {
                found = b;
            } else {
                b.close();
            }
        }
        assertInstanceOf(CpuBackend.class, found);
        assertEquals(DType.F32, found.activationDType());
        found.close();
    }

    @Test
    void threadsComeFromTheSystemProperty() {
        String old = System.getProperty("jlight.cpu.threads");
        System.setProperty("jlight.cpu.threads", "3");
        try (CpuBackend b = new CpuBackend()) {
            assertEquals(3, b.threads());
        } finally {
            if (old == null) {
                System.clearProperty("jlight.cpu.threads");
            } else {
                System.setProperty("jlight.cpu.threads", old);
            }
        }
    }

    @Test
    void poolRunsEveryIndexOnceAndRethrows() {
        try (WorkerPool pool = new WorkerPool(3)) {
            for (int round = 0; round < 50; round++) {
                AtomicIntegerArray hits = new AtomicIntegerArray(1000);
                pool.run(1000, 7, (from, to) -> {
                    for (int i = from; i < to; i++) {
                        hits.incrementAndGet(i);
                    }
                });
                for (int i = 0; i < 1000; i++) {
                    assertEquals(1, hits.get(i), "index " + i + " in round " + round);
                }
            }
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.run(100, 1, (from, to) -> {
                if (from == 42) {
                    throw new IllegalStateException("chunk 42");
                }
            }));
            assertEquals("chunk 42", e.getMessage());
            // and the pool still works after a failure
            AtomicIntegerArray hits = new AtomicIntegerArray(10);
            pool.run(10, 1, (from, to) -> hits.incrementAndGet(from));
            for (int i = 0; i < 10; i++) {
                assertEquals(1, hits.get(i));
            }
        }
    }
}
