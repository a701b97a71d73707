package dev.jlight.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jlight.core.backend.AttentionMetadata;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.backend.KvCacheSpec;
import dev.jlight.core.backend.RopeSpec;
import dev.jlight.core.backend.Tensor;
import dev.jlight.core.weights.DType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Shape and dtype mismatches throw IllegalArgumentException naming the op and the shapes. */
class ErrorsTest {
    private static CpuBackend b;

    @BeforeAll
    static void open() {
        b = new CpuBackend(1);
    }

    @AfterAll
    static void close() {
        b.close();
    }

    private static String message(Executable e) {
        return assertThrows(IllegalArgumentException.class, e).getMessage();
    }

    @Test
    void matmulNamesBothShapes() {
        Tensor x = b.allocate(DType.F32, 3, 64);
        Tensor w = b.allocate(DType.F32, 128, 32);
        assertEquals("matmul: x [3, 64] vs w [128, 32]", message(() -> b.matmul(b.allocate(DType.F32, 3, 128), x, w)));
        String m = message(() -> b.matmul(b.allocate(DType.F32, 3, 100), x, b.allocate(DType.BF16, 128, 64)));
        assertTrue(m.startsWith("matmul: out [3, 100] vs x [3, 64] and w [128, 64]"), m);
        m = message(() -> b.matmul(b.allocate(DType.BF16, 3, 128), x, b.allocate(DType.BF16, 128, 64)));
        assertTrue(m.startsWith("matmul: out is BF16[3, 128]"), m);
        m = message(() -> b.matmul(b.allocate(DType.F32, 3, 128), x, b.allocate(DType.I32, 128, 64)));
        assertTrue(m.startsWith("matmul: w is I32[128, 64]"), m);
    }

    @Test
    void normsAndElementwise() {
        Tensor x = b.allocate(DType.F32, 2, 8);
        assertEquals("rmsNorm: x [2, 8] vs weight [7]",
                message(() -> b.rmsNorm(b.allocate(DType.F32, 2, 8), x, b.allocate(DType.BF16, 7), 1e-5f)));
        assertEquals("addRmsNorm: residual [2, 9] vs x [2, 8]", message(() -> b.addRmsNorm(b.allocate(DType.F32, 2, 8),
                b.allocate(DType.F32, 2, 9), x, b.allocate(DType.F32, 8), 1e-5f)));
        assertEquals("add: x [2, 8] vs y [3, 8]", message(() -> b.add(x, b.allocate(DType.F32, 3, 8))));
        assertEquals("addBias: x [2, 8] vs bias [9]", message(() -> b.addBias(x, b.allocate(DType.F32, 9))));
        assertEquals("siluMul: out [2, 8] vs gateUp [2, 8]", message(() -> b.siluMul(x, b.allocate(DType.F32, 2, 8))));
        String m = message(() -> b.scale(b.allocate(DType.I32, 2), 2f));
        assertTrue(m.startsWith("scale: x is I32[2]"), m);
    }

    @Test
    void indexOps() {
        Tensor table = b.allocate(DType.BF16, 10, 4);
        assertEquals("embedding: id 10 at row 1 outside table [10, 4]",
                message(() -> b.embedding(b.allocate(DType.F32, 2, 4), table, CpuTensor.of(new int[] {0, 10}))));
        assertEquals("embedding: out [2, 5] vs table [10, 4] and 2 ids",
                message(() -> b.embedding(b.allocate(DType.F32, 2, 5), table, CpuTensor.of(new int[] {0, 1}))));
        String m = message(() -> b.embedding(b.allocate(DType.F32, 2, 4), table, b.allocate(DType.F32, 2)));
        assertTrue(m.startsWith("embedding: ids is F32[2], must be I32"), m);
        assertEquals("gatherRows: row 3 at 0 outside x [3, 4]", message(() -> b.gatherRows(b.allocate(DType.F32, 1, 4),
                b.allocate(DType.F32, 3, 4), CpuTensor.of(new int[] {3}))));
    }

    @Test
    void slicing() {
        Tensor t = b.allocate(DType.F32, 4, 6);
        assertEquals("sliceRows: rows [2, 5) of [4, 6]", message(() -> b.sliceRows(t, 2, 5)));
        assertEquals("sliceCols: cols [-1, 2) of [4, 6]", message(() -> b.sliceCols(t, -1, 2)));
        String m = message(() -> b.concatRows(t, b.allocate(DType.F32, 2, 5)));
        assertEquals("concatRows: part F32[2, 5] vs first part F32[4, 6]", m);
        m = message(() -> b.rmsNorm(t, b.concatRows(t, t), b.allocate(DType.F32, 6), 1e-5f));
        assertTrue(m.startsWith("rmsNorm: a concatenated tensor [8, 6]"), m);
        m = message(() -> b.upload(t, java.lang.foreign.MemorySegment.ofArray(new float[5])));
        assertEquals("upload: dst F32[4, 6] needs 96 bytes, src has 20", m);
    }

    @Test
    void ropeAndAttention() {
        RopeSpec spec = new RopeSpec(8, 8, 10000, RopeSpec.Scaling.NONE);
        String m = message(() -> b.rope(b.allocate(DType.F32, 2, 32), b.allocate(DType.F32, 2, 16),
                CpuTensor.of(new int[] {0, 1}), spec, 4, 1));
        assertEquals("rope: q [2, 32] and k [2, 16] vs 4 heads, 1 kv heads of 8", m);
        try (KvCache cache = b.allocateKvCache(new KvCacheSpec(1, 2, 4, 1, 8, DType.F32))) {
            AttentionMetadata meta = new AttentionMetadata(new int[] {0, 1}, new int[] {5}, new int[][] {{0}},
                    new int[] {4}, 4);
            Tensor q = b.allocate(DType.F32, 1, 16);
            m = message(() -> b.attention(b.allocate(DType.F32, 1, 16), q, cache, 0, meta, 2, 1f));
            assertEquals("attention: sequence 0 of 5 tokens needs 2 blocks, its table has 1", m);
            AttentionMetadata far = new AttentionMetadata(new int[] {0, 1}, new int[] {5}, new int[][] {{0, 2}},
                    new int[] {8}, 4);
            m = message(() -> b.attention(b.allocate(DType.F32, 1, 16), q, cache, 0, far, 2, 1f));
            assertEquals("attention: sequence 0 block 1 is 2, outside the cache's 2 blocks", m);
            m = message(() -> b.writeKv(cache, 0, b.allocate(DType.F32, 1, 8), b.allocate(DType.F32, 1, 8), far));
            assertEquals("writeKv: slot 8 of token 0 outside the 8 slots of the cache", m);
            m = message(() -> b.writeKv(cache, 1, b.allocate(DType.F32, 1, 8), b.allocate(DType.F32, 1, 8), meta));
            assertEquals("kv cache: layer 1 outside 0..0", m);
            m = message(() -> b.attention(b.allocate(DType.F32, 1, 16), q, cache, 0, meta, 3, 1f));
            assertEquals("attention: q [1, 16] vs 1 tokens of 3 heads of 8", m);
        }
    }
}
