package dev.jlight.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.jlight.core.backend.Backend;
import dev.jlight.core.backend.Tensor;
import dev.jlight.core.weights.DType;
import dev.jlight.cpu.CpuBackend;
import dev.jlight.cuda.GpuHarness.Guarded;
import dev.jlight.cuda.GpuHarness.Pair;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The residual-stream ops (matmulAddResidual, rmsNormMatmul, rmsNormMatmulSiluMul) on the GPU:
 * against the CPU backend (NMSE, as CudaOpsTest), and fused (gemv_add_bf16, gemv_norm_bf16,
 * gemv_norm_swiglu_bf16 at T <= 8, the GEMV forced on; both fusions switched on here, whatever
 * their defaults) against the same op with both off (rmsNorm / add kernels beside the GEMV), bit for bit, the norm GEMVs with
 * grids of several row tiles per block (the default) and of one tile per block. Shapes cover
 * rms_norm_bf16's blocks of 128, 256 and 512 threads, odd N, K not a multiple of 32, strided
 * residuals, T where the normed rows no longer fit the GEMV's shared memory (the pair runs) and
 * T > 8 (cuBLASLt).
 */
@Tag("gpu")
class CudaNormFusionTest {
    static CudaBackend gpu;
    static CpuBackend cpu;

    @BeforeAll
    static void open() {
        gpu = GpuHarness.openGpu(4L << 30);
        cpu = GpuHarness.cpuTwin();
        gpu.setGemvMode(CudaBackend.GemvMode.ON);
        fused(true);
    }

    /** Both fusions on or off: the norm prologue is off by default (CudaBackend.fuseNorm), so tests set it. */
    private static void fused(boolean on) {
        gpu.setFuseNorm(on);
        gpu.setFuseResidualAdd(on);
    }

    @AfterAll
    static void close() throws Exception {
        GpuHarness.closeAll(gpu, cpu);
    }

    @AfterEach
    void restore() {
        fused(true);
        gpu.setNormGemvBlocksPerSm(2);
        gpu.setGemvMode(CudaBackend.GemvMode.ON);
    }

    private static GpuHarness h(String name) {
        return new GpuHarness(gpu, cpu, name);
    }

    /** T, N, K, strided residual. */
    static Stream<Arguments> addShapes() {
        return Stream.of(Arguments.of(1, 4096, 4096, false), Arguments.of(2, 4096, 14336, false),
                Arguments.of(5, 1000, 1032, true), Arguments.of(8, 17, 264, false), Arguments.of(3, 4095, 8, true),
                Arguments.of(9, 512, 256, false), Arguments.of(33, 1024, 512, true));
    }

    @ParameterizedTest(name = "matmulAddResidual(T={0},N={1},K={2},strided={3})")
    @MethodSource("addShapes")
    void matmulAddResidual(int t, int n, int k, boolean strided) {
        String name = "matmulAddResidual(T=" + t + ",N=" + n + ",K=" + k + ",strided=" + strided + ")";
        GpuHarness h = h(name);
        float[] res = h.randn((long) t * n, 4f);
        Pair x = h.randomAct(t, k);
        Pair w = h.weight("w", h.randn((long) n * k, 0.05f), n, k);
        Pair delta = h.act(t, n, new float[t * n]);
        Pair fused = residual(h, t, n, res, strided);
        gpu.matmulAddResidual(fused.g(), delta.g(), x.g(), w.g());
        cpu.matmulAddResidual(fused.c(), delta.c(), x.c(), w.c());
        h.assertClose(name, fused, CudaOpsTest.NMSE);
        Pair apart = residual(h, t, n, res, strided);
        unfused(() -> gpu.matmulAddResidual(apart.g(), delta.g(), x.g(), w.g()));
        assertBitsEqual(h, name, apart.g(), fused.g());
    }

    /** T, N (or I), K, strided residual; [5, 4096] and [3, 8192] no longer fit the shared rows (the pair runs). */
    static Stream<Arguments> normShapes() {
        return Stream.of(Arguments.of(1, 6144, 4096, false), Arguments.of(2, 1000, 1032, true),
                Arguments.of(5, 4096, 4096, false), Arguments.of(6, 4096, 4096, false),
                Arguments.of(8, 64, 2048, false), Arguments.of(2, 100, 8192, true), Arguments.of(3, 100, 8192, false),
                Arguments.of(4, 33, 1000, false), Arguments.of(7, 128, 8, false), Arguments.of(1, 14336, 4096, false),
                Arguments.of(9, 300, 512, false), Arguments.of(40, 512, 2048, true));
    }

    /** normShapes, each for rmsNormMatmul and for rmsNormMatmulSiluMul (N is then I). */
    static Stream<Arguments> normCases() {
        return normShapes().flatMap(a -> Stream.of(false, true).map(silu -> {
            Object[] v = a.get();
            return Arguments.of(v[0], v[1], v[2], v[3], silu);
        }));
    }

    @ParameterizedTest(name = "rmsNormMatmul(siluMul={4},T={0},N={1},K={2},strided={3})")
    @MethodSource("normCases")
    void rmsNormMatmul(int t, int n, int k, boolean strided, boolean siluMul) {
        String name = (siluMul ? "rmsNormMatmulSiluMul(T=" : "rmsNormMatmul(T=") + t + ",N=" + n + ",K=" + k
                + ",strided=" + strided + ")";
        GpuHarness h = h(name);
        long wRows = siluMul ? 2L * n : n;
        Pair residual = residual(h, t, k, h.randn((long) t * k, 3f), strided);
        Pair nw = h.weight("norm", h.randn(k, 0.5f), k);
        Pair w = h.weight("w", h.randn(wRows * k, 0.05f), wRows, k);
        Pair gu = h.act(t, wRows, new float[(int) (t * wRows)]);
        Pair normed = h.act(t, k, new float[t * k]);
        NormOp op = (backend, side, out) -> {
            if (siluMul) {
                backend.rmsNormMatmulSiluMul(out, side.apply(gu), side.apply(normed), side.apply(residual),
                        side.apply(nw), 1e-5f, side.apply(w));
            } else {
                backend.rmsNormMatmul(out, side.apply(normed), side.apply(residual), side.apply(nw), 1e-5f,
                        side.apply(w));
            }
        };
        Guarded[] g = new Guarded[1];
        Pair out = h.out(t, n, DType.BF16, g);
        op.run(gpu, Pair::g, out.g());
        op.run(cpu, Pair::c, out.c());
        h.assertClose(name, out, CudaOpsTest.NMSE);
        h.checkGuards(name, g[0]);
        h.assertClose(name + " residual untouched", residual, 1e-12);
        Pair apart = h.out(t, n, DType.BF16, g);
        unfused(() -> op.run(gpu, Pair::g, apart.g()));
        assertBitsEqual(h, name, apart.g(), out.g());
        // the fused GEMV's other grids: one block per row tile, and one block per SM
        for (int perSm : new int[] {0, 1}) {
            Pair other = h.out(t, n, DType.BF16, g);
            gpu.setNormGemvBlocksPerSm(perSm);
            op.run(gpu, Pair::g, other.g());
            gpu.setNormGemvBlocksPerSm(2);
            assertBitsEqual(h, name + " blocksPerSm=" + perSm, apart.g(), other.g());
        }
    }

    /** One of the two norm ops on one backend, its inputs taken from their pairs by {@code side}. */
    private interface NormOp {
        void run(Backend backend, Function<Pair, Tensor> side, Tensor out);
    }

    /** The residual [t, cols] holding values on both backends, a column slice of a wider one when strided. */
    private static Pair residual(GpuHarness h, int t, int cols, float[] values, boolean strided) {
        if (!strided) {
            return h.act(t, cols, values);
        }
        float[] wide = new float[t * (cols + 40)];
        for (int r = 0; r < t; r++) {
            System.arraycopy(values, r * cols, wide, r * (cols + 40) + 16, cols);
        }
        Pair p = h.act(t, cols + 40L, wide);
        return new Pair(gpu.sliceCols(p.g(), 16, 16 + cols), cpu.sliceCols(p.c(), 16, 16 + cols));
    }

    private static void unfused(Runnable op) {
        fused(false);
        try {
            op.run();
        } finally {
            fused(true);
        }
    }

    /** Exact: assertArrayEquals compares floats by their bits (bf16 widened, so -0 and 0 differ too). */
    private static void assertBitsEqual(GpuHarness h, String name, Tensor expected, Tensor actual) {
        assertArrayEquals(h.downloadGpu(expected), h.downloadGpu(actual),
                name + ": fused differs from the norm / add kernels beside the GEMV");
    }
}
