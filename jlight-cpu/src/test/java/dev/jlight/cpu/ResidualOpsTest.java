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

    @ParameterizedTest(name = "rmsNormMatmul(T={0},N={1},K={2})")
    @MethodSource("shapes")
    void rmsNormMatmul(int t, int n, int k) {
        SplittableRandom rnd = new SplittableRandom(37L * t + n + k);
        float[] res = random(rnd, t * k, 3);
        float[] nw = roundTo(DType.BF16, random(rnd, k, 1.5));
        float[] w = roundTo(DType.BF16, random(rnd, n * k, 0.5));
        Tensor residual = TestSupport.input(backend, res, t, k, true);
        TestSupport.Padded out = new TestSupport.Padded(backend, t, n);
        backend.rmsNormMatmul(out.view, backend.allocate(DType.F32, t, k), residual,
                TestSupport.weight(backend, DType.BF16, nw, k), 1e-5f, TestSupport.weight(backend, DType.BF16, w, n, k));
        out.checkSentinels("rmsNormMatmul");
        assertClose("rmsNormMatmul", MatmulTest.reference(normed(res, nw, t, k, 1e-5f), w, t, n, k), out.values());
        assertArrayEquals(res, ((CpuTensor) residual).toFloatArray(), "rmsNormMatmul writes its residual");
    }

    @ParameterizedTest(name = "rmsNormMatmulSiluMul(T={0},I={1},K={2})")
    @MethodSource("shapes")
    void rmsNormMatmulSiluMul(int t, int inter, int k) {
        SplittableRandom rnd = new SplittableRandom(41L * t + inter + k);
        float[] res = random(rnd, t * k, 3);
        float[] nw = roundTo(DType.BF16, random(rnd, k, 1.5));
        float[] gateUp = roundTo(DType.BF16, random(rnd, 2 * inter * k, 0.5));
        Tensor residual = TestSupport.input(backend, res, t, k, true);
        TestSupport.Padded out = new TestSupport.Padded(backend, t, inter);
        backend.rmsNormMatmulSiluMul(out.view, backend.allocate(DType.F32, t, 2L * inter),
                backend.allocate(DType.F32, t, k), residual, TestSupport.weight(backend, DType.BF16, nw, k), 1e-5f,
                TestSupport.weight(backend, DType.BF16, gateUp, 2L * inter, k));
        out.checkSentinels("rmsNormMatmulSiluMul");
        double[] gu = MatmulTest.reference(normed(res, nw, t, k, 1e-5f), gateUp, t, 2 * inter, k);
        double[] ref = new double[t * inter];
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < inter; j++) {
                double g = gu[i * 2 * inter + j];
                ref[i * inter + j] = g / (1 + Math.exp(-g)) * gu[i * 2 * inter + inter + j];
            }
        }
        assertClose("rmsNormMatmulSiluMul", ref, out.values(), 1e-4);
        assertArrayEquals(res, ((CpuTensor) residual).toFloatArray(), "rmsNormMatmulSiluMul writes its residual");
    }

    /**
     * FeedForward.addToResidual: the default (a feed-forward of one matmul, as MoE's is a delta)
     * and DenseMlp's override give the bits of rmsNorm, forward, add.
     */
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
            StepScratch scratch = new StepScratch(backend);
            scratch.begin(t);
            Tensor expected = TestSupport.input(backend, res, t, h, false);
            Tensor normed = backend.allocate(DType.F32, t, h);
            Tensor delta = backend.allocate(DType.F32, t, h);
            backend.rmsNorm(normed, expected, nw, 1e-5f);
            ffn.forward(delta, normed, scratch);
            backend.add(expected, delta);
            Tensor got = TestSupport.input(backend, res, t, h, true);
            ffn.addToResidual(got, nw, 1e-5f, backend.allocate(DType.F32, t, h), backend.allocate(DType.F32, t, h),
                    scratch);
            assertArrayEquals(((CpuTensor) expected).toFloatArray(), ((CpuTensor) got).toFloatArray(),
                    ffn.getClass().getSimpleName() + ".addToResidual");
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
