package dev.jlight.cpu;

import static dev.jlight.cpu.TestSupport.assertClose;
import static dev.jlight.cpu.TestSupport.random;
import static dev.jlight.cpu.TestSupport.roundTo;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.jlight.core.backend.Backend;
import dev.jlight.core.backend.Tensor;
import dev.jlight.core.model.DenseMlp;
import dev.jlight.core.model.FeedForward;
import dev.jlight.core.model.StepScratch;
import dev.jlight.core.weights.DType;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Backend's residual-stream ops (matmulAddResidual, rmsNormMatmul, rmsNormMatmulSiluMul), whose
 * defaults the CPU backend runs, against a double-precision reference; and the feed-forward's
 * addToResidual (its default, and the dense MLP's override through those ops) against the
 * composition it replaces, bit for bit. Residuals are strided views with NaN around them.
 */
class ResidualOpsTest {
    private static CpuBackend backend;

    @BeforeAll
    static void open() {
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    /** T, N (or I), K: one token, odd sizes (vector tails), a batch past the GEMV's 8 tokens. */
    static Stream<Arguments> shapes() {
        return Stream.of(Arguments.of(1, 7, 16), Arguments.of(3, 33, 40), Arguments.of(9, 64, 24),
                Arguments.of(17, 100, 257));
    }

    @ParameterizedTest(name = "matmulAddResidual(T={0},N={1},K={2})")
    @MethodSource("shapes")
    void matmulAddResidual(int t, int n, int k) {
        SplittableRandom rnd = new SplittableRandom(31L * t + n + k);
        float[] res = random(rnd, t * n, 2);
        float[] x = random(rnd, t * k, 1);
        float[] w = roundTo(DType.BF16, random(rnd, n * k, 0.5));
        Tensor residual = TestSupport.input(backend, res, t, n, true);
        backend.matmulAddResidual(residual, backend.allocate(DType.F32, t, n), TestSupport.input(backend, x, t, k, true),
                TestSupport.weight(backend, DType.BF16, w, n, k));
        double[] ref = MatmulTest.reference(x, w, t, n, k);
        for (int i = 0; i < ref.length; i++) {
            ref[i] += res[i];
        }
        assertClose("matmulAddResidual", ref, ((CpuTensor) residual).toFloatArray());
    }

    static Stream<Arguments> normShapes() {
        return shapes().flatMap(a -> Stream.of(false, true).map(silu -> {
            Object[] v = a.get();
            return Arguments.of(v[0], v[1], v[2], silu);
        }));
    }

    /** rmsNormMatmul, or rmsNormMatmulSiluMul (N is then I, the weight [2I, K] gate rows then up rows). */
    @ParameterizedTest(name = "rmsNormMatmul(T={0},N={1},K={2},siluMul={3})")
    @MethodSource("normShapes")
    void rmsNormMatmul(int t, int n, int k, boolean siluMul) {
        String name = siluMul ? "rmsNormMatmulSiluMul" : "rmsNormMatmul";
        SplittableRandom rnd = new SplittableRandom(37L * t + n + k + (siluMul ? 1 : 0));
        int rows = siluMul ? 2 * n : n;
        float[] res = random(rnd, t * k, 3);
        float[] nw = roundTo(DType.BF16, random(rnd, k, 1.5));
        float[] w = roundTo(DType.BF16, random(rnd, rows * k, 0.5));
        Tensor residual = TestSupport.input(backend, res, t, k, true);
        Tensor normWeight = TestSupport.weight(backend, DType.BF16, nw, k);
        Tensor weight = TestSupport.weight(backend, DType.BF16, w, rows, k);
        Tensor normed = backend.allocate(DType.F32, t, k);
        TestSupport.Padded out = new TestSupport.Padded(backend, t, n);
        if (siluMul) {
            backend.rmsNormMatmulSiluMul(out.view, backend.allocate(DType.F32, t, rows), normed, residual, normWeight,
                    1e-5f, weight);
        } else {
            backend.rmsNormMatmul(out.view, normed, residual, normWeight, 1e-5f, weight);
        }
        out.checkSentinels(name);
        double[] product = MatmulTest.reference(normed(res, nw, t, k, 1e-5f), w, t, rows, k);
        double[] ref = siluMul ? new double[t * n] : product;
        for (int i = 0; siluMul && i < t; i++) {
            for (int j = 0; j < n; j++) {
                double g = product[i * rows + j];
                ref[i * n + j] = g / (1 + Math.exp(-g)) * product[i * rows + n + j];
            }
        }
        assertClose(name, ref, out.values(), siluMul ? 1e-4 : TestSupport.RTOL);
        assertArrayEquals(res, ((CpuTensor) residual).toFloatArray(), name + " writes its residual");
    }

    /**
     * FeedForward.addToResidual: the default (a feed-forward of one matmul, as MoE's is a delta)
     * and DenseMlp's override give the bits of rmsNorm, forward, add.
     */
    /** Unchecked runs of both paths before the compared one (see addToResidualIsNormForwardAdd). */
    private static final int WARM_ROUNDS = 20;

    @ParameterizedTest(name = "addToResidual(T={0},I={1},H={2})")
    @MethodSource("shapes")
    void addToResidualIsNormForwardAdd(int t, int inter, int h) {
        SplittableRandom rnd = new SplittableRandom(43L * t + inter + h);
        float[] res = random(rnd, t * h, 3);
        Tensor nw = TestSupport.weight(backend, DType.BF16, roundTo(DType.BF16, random(rnd, h, 1.5)), h);
        Tensor gateUp = TestSupport.weight(backend, DType.BF16, roundTo(DType.BF16, random(rnd, 2 * inter * h, 0.5)),
                2L * inter, h);
        Tensor down = TestSupport.weight(backend, DType.BF16, roundTo(DType.BF16, random(rnd, h * inter, 0.5)), h, inter);
        Tensor proj = TestSupport.weight(backend, DType.BF16, roundTo(DType.BF16, random(rnd, h * h, 0.5)), h, h);
        FeedForward oneMatmul = new FeedForward() {
            @Override
            public Backend backend() {
                return backend;
            }

            @Override
            public void forward(Tensor out, Tensor x, StepScratch scratch) {
                backend.matmul(out, x, proj);
            }
        };
        for (FeedForward ffn : new FeedForward[] {oneMatmul, new DenseMlp(backend, gateUp, down, inter)}) {
            // The CPU kernels' reduceLanes(ADD) and lanewise(EXP) give other bits interpreted than
            // compiled (C2 intrinsics), so two paths compared while the JIT compiles a kernel
            // between them can differ in the last bit (seen once in CI, at the first T that takes
            // the 4-token tiles). Both paths run WARM_ROUNDS times first; the last round is compared.
            for (int round = 0; round <= WARM_ROUNDS; round++) {
                StepScratch scratch = new StepScratch(backend);
                scratch.begin(t);
                Tensor expected = TestSupport.input(backend, res, t, h, false);
                Tensor normed = backend.allocate(DType.F32, t, h);
                Tensor delta = backend.allocate(DType.F32, t, h);
                backend.rmsNorm(normed, expected, nw, 1e-5f);
                ffn.forward(delta, normed, scratch);
                backend.add(expected, delta);
                Tensor got = TestSupport.input(backend, res, t, h, true);
                ffn.addToResidual(got, nw, 1e-5f, backend.allocate(DType.F32, t, h),
                        backend.allocate(DType.F32, t, h), scratch);
                if (round == WARM_ROUNDS) {
                    assertArrayEquals(((CpuTensor) expected).toFloatArray(), ((CpuTensor) got).toFloatArray(),
                            ffn.getClass().getSimpleName() + ".addToResidual");
                }
            }
        }
    }

    /** rmsNorm(x) * w in double, per row of x [t, k]. */
    private static float[] normed(float[] x, float[] w, int t, int k, float eps) {
        double[] d = OpsTest.refRmsNorm(x, w, t, k, eps);
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }
}
