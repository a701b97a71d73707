package dev.jlight.cuda;


import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jlight.core.backend.PendingInts;
import dev.jlight.core.backend.RopeSpec;
import dev.jlight.core.backend.Tensor;
import dev.jlight.core.weights.DType;
import dev.jlight.cpu.CpuBackend;
import dev.jlight.cuda.GpuHarness.Guarded;
import dev.jlight.cuda.GpuHarness.Pair;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every elementwise, norm, gather and matmul op of the CUDA backend against the CPU backend on
 * random inputs (ggml test-backend-ops style). Thresholds: the GPU rounds its outputs to bf16
 * (relative error 2^-9, NMSE about 1e-6), so 1e-4 leaves room for f32 summation order and
 * cuBLASLt's split-K, and catches any wrong index (NMSE near 1 or 2).
 */
@Tag("gpu")
class CudaOpsTest {
    static final double NMSE = 1e-4;
    static CudaBackend gpu;
    static CpuBackend cpu;

    @BeforeAll
    static void open() {
        gpu = GpuHarness.openGpu(6L << 30);
        cpu = GpuHarness.cpuTwin();
        System.out.println("cuda ops test on " + gpu.describe());
    }

    @AfterAll
    static void close() throws Exception {
        if (gpu != null) {
            gpu.gemvDecisions().forEach(d -> System.out.println("gemv auto: " + d));
            System.out.println(gpu.arena().summary());
        }
        GpuHarness.closeAll(gpu, cpu);
    }

    private static GpuHarness h(String name) {
        return new GpuHarness(gpu, cpu, name);
    }

    // ---- norms --------------------------------------------------------------------------------

    static Stream<Arguments> normShapes() {
        return Stream.of(Arguments.of(1, 64, false), Arguments.of(7, 4096, false), Arguments.of(33, 5120, false),
                Arguments.of(5, 8192, false), Arguments.of(9, 2048, true));
    }

    @ParameterizedTest(name = "rmsNorm(T={0},H={1},strided={2})")
    @MethodSource("normShapes")
    void rmsNorm(int t, int hd, boolean strided) {
        String name = "rmsNorm(T=" + t + ",H=" + hd + ",strided=" + strided + ")";
        GpuHarness h = h(name);
        Pair x = strided ? h.stridedAct(t, hd, 32) : h.randomAct(t, hd);
        Pair w = h.weight("norm", h.randn(hd, 0.5f), hd);
        Guarded[] g = new Guarded[1];
        Pair out = h.out(t, hd, DType.BF16, g);
        gpu.rmsNorm(out.g(), x.g(), w.g(), 1e-5f);
        cpu.rmsNorm(out.c(), x.c(), w.c(), 1e-5f);
        h.assertClose(name, out, NMSE);
        h.checkGuards(name, g[0]);
    }

    @ParameterizedTest(name = "addRmsNorm(T={0},H={1},strided={2})")
    @MethodSource("normShapes")
    void addRmsNorm(int t, int hd, boolean strided) {
        String name = "addRmsNorm(T=" + t + ",H=" + hd + ",strided=" + strided + ")";
        GpuHarness h = h(name);
        Pair res = h.randomAct(t, hd);
        Pair x = strided ? h.stridedAct(t, hd, 32) : h.randomAct(t, hd);
        Pair w = h.weight("norm", h.randn(hd, 0.5f), hd);
        Guarded[] g = new Guarded[1];
        Pair out = h.out(t, hd, DType.BF16, g);
        gpu.addRmsNorm(out.g(), res.g(), x.g(), w.g(), 1e-6f);
        cpu.addRmsNorm(out.c(), res.c(), x.c(), w.c(), 1e-6f);
        h.assertClose(name + " residual", res, NMSE);
        h.assertClose(name + " out", out, NMSE);
        h.checkGuards(name, g[0]);
    }

    // ---- matmul -------------------------------------------------------------------------------

    static Stream<Arguments> matmulShapes() {
        return Stream.of(
                Arguments.of(1, 4096, 4096, "BF16", false), Arguments.of(7, 6144, 4096, "BF16", false),
                Arguments.of(64, 1024, 4096, "BF16", false), Arguments.of(33, 4096, 14336, "BF16", false),
                Arguments.of(5, 128, 64, "BF16", false), Arguments.of(130, 3000, 1000, "BF16", false),
                Arguments.of(3, 4096, 2048, "BF16", true), Arguments.of(17, 1000, 512, "BF16", true),
                Arguments.of(4, 32000, 512, "F32", false), Arguments.of(1, 128256, 256, "F32", false),
                Arguments.of(9, 2000, 640, "F32", true));
    }

    @ParameterizedTest(name = "matmul(T={0},N={1},K={2},out={3},strided={4})")
    @MethodSource("matmulShapes")
    void matmul(int t, int n, int k, String outType, boolean strided) {
        String name = "matmul(T=" + t + ",N=" + n + ",K=" + k + ",out=" + outType + ",strided=" + strided + ")";
        GpuHarness h = h(name);
        Pair x = strided ? h.stridedAct(t, k, 64) : h.randomAct(t, k);
        Pair w = h.weight("w", h.randn((long) n * k, 0.05f), n, k);
        DType type = DType.valueOf(outType);
        Pair out;
        Guarded guard = null;
        if (strided) {
            // out is a column slice of a wider buffer, as Q/K/V are of the fused QKV output
            Pair wide = h.act(t, n + 96, h.randn((long) t * (n + 96), 1f), type);
            out = new Pair(gpu.sliceCols(wide.g(), 32, 32 + n), cpu.sliceCols(wide.c(), 32, 32 + n));
        } else {
            Guarded[] g = new Guarded[1];
            out = h.out(t, n, type, g);
            guard = g[0];
        }
        gpu.matmul(out.g(), x.g(), w.g());
        cpu.matmul(out.c(), x.c(), w.c());
        h.assertClose(name, out, NMSE);
        if (guard != null) {
            h.checkGuards(name, guard);
        }
    }

    static Stream<Arguments> gemvShapes() {
        return Stream.of(
                Arguments.of(1, 4096, 4096, "BF16", false), Arguments.of(2, 6144, 4096, "BF16", false),
                Arguments.of(3, 1001, 512, "BF16", false), Arguments.of(4, 4096, 14336, "BF16", false),
                Arguments.of(5, 17, 8, "BF16", false), Arguments.of(6, 2000, 264, "F32", false),
                Arguments.of(7, 3000, 1000, "BF16", true), Arguments.of(8, 28672, 4096, "BF16", false),
                Arguments.of(8, 1, 2048, "F32", true), Arguments.of(1, 32000, 512, "F32", false),
                Arguments.of(1, 4097, 776, "BF16", true), Arguments.of(8, 129, 4096, "F32", false),
                // Llama-3.1-8B decode shapes at T = 1..8: qkv, o_proj, gate_up, down, lm_head
                Arguments.of(1, 6144, 4096, "BF16", false), Arguments.of(2, 4096, 4096, "F32", true),
                Arguments.of(3, 28672, 4096, "BF16", false), Arguments.of(5, 4096, 14336, "BF16", true),
                Arguments.of(8, 4096, 14336, "BF16", false), Arguments.of(1, 128256, 512, "F32", false),
                Arguments.of(8, 128256, 4096, "F32", false),
                // odd N with long K (rows past N repeat the last row), K not a multiple of 32
                Arguments.of(6, 4095, 4096, "BF16", false), Arguments.of(7, 33, 14336, "F32", true),
                Arguments.of(4, 3, 1032, "BF16", false), Arguments.of(2, 1, 8, "F32", false));
    }

    /** The GEMV kernel (T <= 8), forced on, whatever its speed against cuBLASLt. */
    @ParameterizedTest(name = "gemv(T={0},N={1},K={2},out={3},strided={4})")
    @MethodSource("gemvShapes")
    void gemv(int t, int n, int k, String outType, boolean strided) {
        CudaBackend.GemvMode before = gpu.gemvMode();
        gpu.setGemvMode(CudaBackend.GemvMode.ON);
        try {
            matmul(t, n, k, outType, strided);
        } finally {
            gpu.setGemvMode(before);
        }
    }

    @ParameterizedTest(name = "matmulFusedWeights(T={0})")
    @MethodSource("tokens")
    void matmulOnConcatRows(int t) {
        String name = "matmul over concatRows(q,k,v)(T=" + t + ")";
        GpuHarness h = h(name);
        int k = 512;
        Pair q = h.weight("q", h.randn(1024L * k, 0.05f), 1024, k);
        Pair kk = h.weight("k", h.randn(256L * k, 0.05f), 256, k);
        Pair v = h.weight("v", h.randn(256L * k, 0.05f), 256, k);
        Pair qkv = new Pair(gpu.concatRows(q.g(), kk.g(), v.g()), cpu.concatRows(q.c(), kk.c(), v.c()));
        Pair x = h.randomAct(t, k);
        Guarded[] g = new Guarded[1];
        Pair out = h.out(t, 1536, DType.BF16, g);
        gpu.matmul(out.g(), x.g(), qkv.g());
        cpu.matmul(out.c(), x.c(), qkv.c());
        h.assertClose(name, out, NMSE);
        h.checkGuards(name, g[0]);
    }

    static Stream<Integer> tokens() {
        return Stream.of(1, 8, 77);
    }

    // ---- gathers ------------------------------------------------------------------------------

    @ParameterizedTest(name = "embedding(T={0},V={1},H={2})")
    @MethodSource("embeddingShapes")
    void embedding(int t, int v, int hd) {
        String name = "embedding(T=" + t + ",V=" + v + ",H=" + hd + ")";
        GpuHarness h = h(name);
        Pair table = h.weight("embed", h.randn((long) v * hd, 1f), v, hd);
        int[] ids = new int[t];
        for (int i = 0; i < t; i++) {
            ids[i] = i == 0 ? 0 : i == 1 ? v - 1 : h.random.nextInt(v);
        }
        Pair id = h.ints(ids);
        Guarded[] g = new Guarded[1];
        Pair out = h.out(t, hd, DType.BF16, g);
        gpu.embedding(out.g(), table.g(), id.g());
        cpu.embedding(out.c(), table.c(), id.c());
        h.assertClose(name, out, 1e-12);
        h.checkGuards(name, g[0]);
    }

    static Stream<Arguments> embeddingShapes() {
        return Stream.of(Arguments.of(9, 1000, 4096), Arguments.of(2, 32000, 64), Arguments.of(130, 500, 2048));
    }

    @ParameterizedTest(name = "gatherRows(R={0},T={1},H={2})")
    @MethodSource("gatherShapes")
    void gatherRows(int r, int t, int hd) {
        String name = "gatherRows(R=" + r + ",T=" + t + ",H=" + hd + ")";
        GpuHarness h = h(name);
        Pair x = h.randomAct(t, hd);
        int[] rows = new int[r];
        for (int i = 0; i < r; i++) {
            rows[i] = i == r - 1 ? t - 1 : h.random.nextInt(t);
        }
        Pair idx = h.ints(rows);
        Guarded[] g = new Guarded[1];
        Pair out = h.out(r, hd, DType.BF16, g);
        gpu.gatherRows(out.g(), x.g(), idx.g());
        cpu.gatherRows(out.c(), x.c(), idx.c());
        h.assertClose(name, out, 1e-12);
        h.checkGuards(name, g[0]);
    }

    static Stream<Arguments> gatherShapes() {
        return Stream.of(Arguments.of(1, 1, 64), Arguments.of(3, 17, 4096), Arguments.of(64, 300, 2048));
    }

    @ParameterizedTest(name = "takePreviousIds(T={0},P={1})")
    @MethodSource("previousIdShapes")
    void takePreviousIds(int t, int p) {
        String name = "takePreviousIds(T=" + t + ",P=" + p + ")";
        GpuHarness h = h(name);
        int[] ids = new int[t];
        int[] rows = new int[t];
        int[] previous = new int[p];
        for (int i = 0; i < p; i++) {
            previous[i] = h.random.nextInt(1 << 20);
        }
        for (int i = 0; i < t; i++) {
            ids[i] = h.random.nextInt(1 << 20);
            rows[i] = i == 0 ? p - 1 : h.random.nextInt(p + 1) - 1; // -1: keep the host's id
        }
        // the GPU's ids between two guard rows, as a [T, 1] view (the model's ids are a row view too)
        int[] guarded = new int[t + 2];
        guarded[0] = -7;
        guarded[t + 1] = -9;
        System.arraycopy(ids, 0, guarded, 1, t);
        Tensor full = gpu.allocate(DType.I32, t + 2, 1);
        gpu.upload(full, MemorySegment.ofArray(guarded));
        Tensor cpuIds = cpu.allocate(DType.I32, t, 1);
        cpu.upload(cpuIds, MemorySegment.ofArray(ids));
        Pair prev = h.ints(previous);
        Pair r = h.ints(rows);
        gpu.takePreviousIds(gpu.sliceRows(full, 1, t + 1), prev.g(), r.g());
        cpu.takePreviousIds(cpuIds, prev.c(), r.c());
        int[] got = new int[t + 2];
        gpu.download(full, MemorySegment.ofArray(got));
        int[] want = new int[t];
        cpu.download(cpuIds, MemorySegment.ofArray(want));
        assertArrayEquals(want, Arrays.copyOfRange(got, 1, t + 1), name);
        assertEquals(-7, got[0], name + ": guard row before");
        assertEquals(-9, got[t + 1], name + ": guard row after");
    }

    static Stream<Arguments> previousIdShapes() {
        return Stream.of(Arguments.of(1, 1), Arguments.of(5, 8), Arguments.of(300, 64), Arguments.of(2000, 256));
    }

    /** A row past the previous ids (no host check on the GPU) gives -1, which the embedding turns into NaN. */
    @Test
    void takePreviousIdsPastThePreviousIdsGivesMinusOne() {
        GpuHarness h = h("takePreviousIdsPastEnd");
        Pair ids = h.ints(new int[] {4, 5, 6});
        gpu.takePreviousIds(ids.g(), h.ints(new int[] {40, 50}).g(), h.ints(new int[] {1, 2, -1}).g());
        int[] got = new int[3];
        gpu.download(ids.g(), MemorySegment.ofArray(got));
        assertArrayEquals(new int[] {50, -1, 6}, got);
    }

    /**
     * Ids read back behind events while more work is queued: two in flight, awaited in order, then
     * more than Readbacks keeps in flight (the oldest is awaited for the caller); each await gives
     * the values the tensor had when its copy was queued, even though the tensor is rewritten after.
     */
    @Test
    void downloadIntsAsyncGivesTheValuesAtQueueTime() {
        assertTrue(gpu.downloadsAsync());
        GpuHarness h = h("downloadIntsAsync");
        Tensor ids = gpu.allocate(DType.I32, 257, 1);
        Tensor busy = gpu.allocate(DType.BF16, 4096, 4096);
        int rounds = Readbacks.MAX_IN_FLIGHT + 3;
        int[][] sent = new int[rounds][];
        PendingInts[] pending = new PendingInts[rounds];
        for (int i = 0; i < rounds; i++) {
            sent[i] = h.random.ints(257, 0, 1 << 20).toArray();
            gpu.upload(ids, MemorySegment.ofArray(sent[i]));
            pending[i] = gpu.downloadIntsAsync(ids);
            for (int k = 0; k < 4; k++) {
                gpu.scale(busy, 1f); // device work queued behind the copy
            }
            if (i >= 1 && i < 3) {
                assertArrayEquals(sent[i - 1], pending[i - 1].await(), "awaited one step late, round " + (i - 1));
            }
        }
        for (int i = 0; i < rounds; i++) {
            assertArrayEquals(sent[i], pending[i].await(), "round " + i);
            assertArrayEquals(sent[i], pending[i].await(), "round " + i + ", awaited twice");
        }
        gpu.synchronize();
    }

    // ---- elementwise --------------------------------------------------------------------------

    static Stream<Arguments> elementwiseShapes() {
        return Stream.of(Arguments.of(1, 64), Arguments.of(7, 4096), Arguments.of(130, 6144), Arguments.of(3, 14336));
    }

    @ParameterizedTest(name = "addBias(T={0},N={1})")
    @MethodSource("elementwiseShapes")
    void addBias(int t, int n) {
        String name = "addBias(T=" + t + ",N=" + n + ")";
        GpuHarness h = h(name);
        Pair x = h.stridedAct(t, n, 16);
        Pair b = h.weight("bias", h.randn(n, 1f), n);
        gpu.addBias(x.g(), b.g());
        cpu.addBias(x.c(), b.c());
        h.assertClose(name, x, NMSE);
    }

    @ParameterizedTest(name = "add(T={0},N={1})")
    @MethodSource("elementwiseShapes")
    void add(int t, int n) {
        String name = "add(T=" + t + ",N=" + n + ")";
        GpuHarness h = h(name);
        Pair x = h.randomAct(t, n);
        Pair y = h.stridedAct(t, n, 8);
        gpu.add(x.g(), y.g());
        cpu.add(x.c(), y.c());
        h.assertClose(name, x, NMSE);
    }

    @ParameterizedTest(name = "scale(T={0},N={1})")
    @MethodSource("elementwiseShapes")
    void scale(int t, int n) {
        String name = "scale(T=" + t + ",N=" + n + ")";
        GpuHarness h = h(name);
        Pair x = h.randomAct(t, n);
        gpu.scale(x.g(), 0.37f);
        cpu.scale(x.c(), 0.37f);
        h.assertClose(name, x, NMSE);
    }

    @ParameterizedTest(name = "scaleF32Logits(R={0},V={1})")
    @MethodSource("elementwiseShapes")
    void scaleF32(int r, int v) {
        String name = "scale f32 logits(R=" + r + ",V=" + v + ")";
        GpuHarness h = h(name);
        Pair x = h.act(r, v, h.randn((long) r * v, 3f), DType.F32);
        gpu.scale(x.g(), 1f / 7f);
        cpu.scale(x.c(), 1f / 7f);
        h.assertClose(name, x, 1e-12);
    }

    @ParameterizedTest(name = "siluMul(T={0},I={1})")
    @MethodSource("elementwiseShapes")
    void siluMul(int t, int inter) {
        String name = "siluMul(T=" + t + ",I=" + inter + ")";
        GpuHarness h = h(name);
        Pair gu = h.act(t, 2L * inter, h.randn(2L * t * inter, 2f));
        Guarded[] g = new Guarded[1];
        Pair out = h.out(t, inter, DType.BF16, g);
        gpu.siluMul(out.g(), gu.g());
        cpu.siluMul(out.c(), gu.c());
        h.assertClose(name, out, NMSE);
        h.checkGuards(name, g[0]);
    }

    static Stream<Arguments> swigluShapes() {
        // T <= 8 takes gemv_swiglu_bf16 where the GEMV wins the timing, T > 8 the matmul + siluMul pair
        return Stream.of(Arguments.of(1, 14336, 4096), Arguments.of(2, 37, 264), Arguments.of(5, 1000, 1032),
                Arguments.of(8, 3000, 512), Arguments.of(9, 512, 256), Arguments.of(64, 1408, 2048));
    }

    @ParameterizedTest(name = "matmulSiluMul(T={0},I={1},K={2})")
    @MethodSource("swigluShapes")
    void matmulSiluMul(int t, int inter, int k) {
        String name = "matmulSiluMul(T=" + t + ",I=" + inter + ",K=" + k + ")";
        GpuHarness h = h(name);
        Pair x = h.randomAct(t, k);
        Pair w = h.weight("gate_up", h.randn(2L * inter * k, 0.05f), 2L * inter, k);
        Pair gu = h.act(t, 2L * inter, h.randn(2L * t * inter, 1f));
        Guarded[] g = new Guarded[1];
        Pair out = h.out(t, inter, DType.BF16, g);
        for (int rep = 0; rep < 2; rep++) { // the first call times GEMV against cuBLASLt, the second uses the choice
            gpu.matmulSiluMul(out.g(), gu.g(), x.g(), w.g());
        }
        cpu.matmulSiluMul(out.c(), gu.c(), x.c(), w.c());
        h.assertClose(name, out, NMSE);
        h.checkGuards(name, g[0]);
    }

    // ---- rope ---------------------------------------------------------------------------------

    static Stream<Arguments> ropeCases() {
        RopeSpec.Scaling llama3 = new RopeSpec.Scaling("llama3", 8.0, 1.0, 4.0, 8192);
        return Stream.of(
                Arguments.of(11, 32, 8, new RopeSpec(128, 128, 500000.0, llama3), 131072),
                Arguments.of(5, 8, 8, new RopeSpec(64, 32, 10000.0, RopeSpec.Scaling.NONE), 4096),
                Arguments.of(1, 16, 2, new RopeSpec(128, 128, 1000000.0, RopeSpec.Scaling.NONE), 32768),
                Arguments.of(70, 14, 2, new RopeSpec(64, 64, 10000.0,
                        new RopeSpec.Scaling("linear", 4.0, 0, 0, 0)), 16384));
    }

    @ParameterizedTest(name = "rope(T={0},heads={1}/{2},{3})")
    @MethodSource("ropeCases")
    void rope(int t, int heads, int kvHeads, RopeSpec spec, int maxPos) {
        String name = "rope(T=" + t + ",heads=" + heads + "/" + kvHeads + ",D=" + spec.headDim() + ",rotary="
                + spec.rotaryDim() + ",scaling=" + spec.scaling().type() + ")";
        GpuHarness h = h(name);
        int hd = spec.headDim();
        long q = (long) heads * hd, kv = (long) kvHeads * hd;
        Pair qkv = h.randomAct(t, q + 2 * kv);
        Pair qv = new Pair(gpu.sliceCols(qkv.g(), 0, q), cpu.sliceCols(qkv.c(), 0, q));
        Pair kk = new Pair(gpu.sliceCols(qkv.g(), q, q + kv), cpu.sliceCols(qkv.c(), q, q + kv));
        int[] pos = new int[t];
        for (int i = 0; i < t; i++) {
            pos[i] = i == 0 ? maxPos - 1 : h.random.nextInt(maxPos);
        }
        Pair p = h.ints(pos);
        gpu.rope(qv.g(), kk.g(), p.g(), spec, heads, kvHeads);
        cpu.rope(qv.c(), kk.c(), p.c(), spec, heads, kvHeads);
        h.assertClose(name, qkv, NMSE); // q and k rotated, v untouched
    }
}
