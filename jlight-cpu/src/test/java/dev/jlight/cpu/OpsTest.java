package dev.jlight.cpu;

import static dev.jlight.cpu.TestSupport.assertClose;
import static dev.jlight.cpu.TestSupport.random;
import static dev.jlight.cpu.TestSupport.roundTo;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jlight.core.backend.Tensor;
import dev.jlight.core.weights.DType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Norms, elementwise ops, embedding and row gather against double references, on views with sentinels. */
class OpsTest {
    private static final DType[] FLOATS = {DType.F32, DType.BF16, DType.F16};
    private static CpuBackend backend;

    @BeforeAll
    static void open() {
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    /** weight dtype × T × H; odd H leaves vector tails, T=17 × H=2000 is big enough to be split over threads. */
    static List<Arguments> rowCases() {
        List<Arguments> out = new ArrayList<>();
        for (DType dt : FLOATS) {
            for (int t : new int[] {1, 3, 17}) {
                for (int h : new int[] {64, 100, 257, 2000}) {
                    out.add(Arguments.of(dt, t, h));
                }
            }
        }
        return out;
    }

    @ParameterizedTest(name = "rmsNorm(w={0},T={1},H={2})")
    @MethodSource("rowCases")
    void rmsNorm(DType dt, int t, int h) {
        SplittableRandom rnd = new SplittableRandom(h * 7L + t);
        float[] x = random(rnd, t * h, 3);
        float[] w = roundTo(dt, random(rnd, h, 1.5));
        float eps = 1e-5f;
        TestSupport.Padded out = new TestSupport.Padded(backend, t, h);
        backend.rmsNorm(out.view, TestSupport.input(backend, x, t, h, true), TestSupport.weight(backend, dt, w, h), eps);
        out.checkSentinels("rmsNorm");
        assertClose("rmsNorm", refRmsNorm(x, w, t, h, eps), out.values());
    }

    @ParameterizedTest(name = "addRmsNorm(w={0},T={1},H={2})")
    @MethodSource("rowCases")
    void addRmsNorm(DType dt, int t, int h) {
        SplittableRandom rnd = new SplittableRandom(h * 13L + t);
        float[] res = random(rnd, t * h, 2);
        float[] x = random(rnd, t * h, 2);
        float[] w = roundTo(dt, random(rnd, h, 1.5));
        float eps = 1e-6f;
        Tensor residual = TestSupport.input(backend, res, t, h, true);
        TestSupport.Padded out = new TestSupport.Padded(backend, t, h);
        backend.addRmsNorm(out.view, residual, TestSupport.input(backend, x, t, h, true),
                TestSupport.weight(backend, dt, w, h), eps);
        out.checkSentinels("addRmsNorm");
        float[] sum = new float[t * h];
        double[] refSum = new double[t * h];
        for (int i = 0; i < sum.length; i++) {
            sum[i] = res[i] + x[i];
            refSum[i] = (double) res[i] + x[i];
        }
        assertClose("addRmsNorm residual", refSum, ((CpuTensor) residual).toFloatArray());
        assertClose("addRmsNorm out", refRmsNorm(sum, w, t, h, eps), out.values());
    }

    static double[] refRmsNorm(float[] x, float[] w, int t, int h, float eps) {
        double[] out = new double[t * h];
        for (int i = 0; i < t; i++) {
            double ss = 0;
            for (int j = 0; j < h; j++) {
                ss += (double) x[i * h + j] * x[i * h + j];
            }
            double inv = 1 / Math.sqrt(ss / h + eps);
            for (int j = 0; j < h; j++) {
                out[i * h + j] = x[i * h + j] * inv * w[j];
            }
        }
        return out;
    }

    @ParameterizedTest(name = "addBias(bias={0},T={1},N={2})")
    @MethodSource("rowCases")
    void addBias(DType dt, int t, int n) {
        SplittableRandom rnd = new SplittableRandom(n * 3L + t);
        float[] x = random(rnd, t * n, 1);
        float[] b = roundTo(dt, random(rnd, n, 1));
        Tensor xt = TestSupport.input(backend, x, t, n, true);
        backend.addBias(xt, TestSupport.weight(backend, dt, b, n));
        double[] ref = new double[t * n];
        for (int i = 0; i < ref.length; i++) {
            ref[i] = (double) x[i] + b[i % n];
        }
        assertClose("addBias", ref, ((CpuTensor) xt).toFloatArray());
    }

    static List<Arguments> elementCases() {
        List<Arguments> out = new ArrayList<>();
        for (int t : new int[] {1, 3, 17}) {
            for (int n : new int[] {64, 100, 257, 2000}) {
                out.add(Arguments.of(t, n));
            }
        }
        return out;
    }

    @ParameterizedTest(name = "add(T={0},N={1})")
    @MethodSource("elementCases")
    void add(int t, int n) {
        SplittableRandom rnd = new SplittableRandom(n + 100L * t);
        float[] x = random(rnd, t * n, 1);
        float[] y = random(rnd, t * n, 1);
        Tensor xt = TestSupport.input(backend, x, t, n, true);
        backend.add(xt, TestSupport.input(backend, y, t, n, true));
        double[] ref = new double[t * n];
        for (int i = 0; i < ref.length; i++) {
            ref[i] = (double) x[i] + y[i];
        }
        assertClose("add", ref, ((CpuTensor) xt).toFloatArray());
    }

    @ParameterizedTest(name = "scale(T={0},N={1})")
    @MethodSource("elementCases")
    void scale(int t, int n) {
        SplittableRandom rnd = new SplittableRandom(n + 200L * t);
        float[] x = random(rnd, t * n, 1);
        Tensor xt = TestSupport.input(backend, x, t, n, true);
        backend.scale(xt, 0.37f);
        double[] ref = new double[t * n];
        for (int i = 0; i < ref.length; i++) {
            ref[i] = x[i] * (double) 0.37f;
        }
        assertClose("scale", ref, ((CpuTensor) xt).toFloatArray());
    }

    @ParameterizedTest(name = "siluMul(T={0},I={1})")
    @MethodSource("elementCases")
    void siluMul(int t, int n) {
        SplittableRandom rnd = new SplittableRandom(n + 300L * t);
        float[] gu = random(rnd, t * 2 * n, 8);
        TestSupport.Padded out = new TestSupport.Padded(backend, t, n);
        backend.siluMul(out.view, TestSupport.input(backend, gu, t, 2 * n, true));
        out.checkSentinels("siluMul");
        double[] ref = new double[t * n];
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < n; j++) {
                double g = gu[i * 2 * n + j];
                ref[i * n + j] = g / (1 + Math.exp(-g)) * gu[i * 2 * n + n + j];
            }
        }
        assertClose("siluMul", ref, out.values());
    }

    @ParameterizedTest(name = "embedding(table={0},T={1},H={2})")
    @MethodSource("rowCases")
    void embedding(DType dt, int t, int h) {
        int vocab = 50;
        SplittableRandom rnd = new SplittableRandom(h + 400L * t);
        float[] table = roundTo(dt, random(rnd, vocab * h, 1));
        int[] ids = new int[t];
        for (int i = 0; i < t; i++) {
            ids[i] = rnd.nextInt(vocab);
        }
        ids[0] = vocab - 1;
        TestSupport.Padded out = new TestSupport.Padded(backend, t, h);
        backend.embedding(out.view, TestSupport.weight(backend, dt, table, vocab, h), CpuTensor.of(ids));
        out.checkSentinels("embedding");
        float[] ref = new float[t * h];
        for (int i = 0; i < t; i++) {
            System.arraycopy(table, ids[i] * h, ref, i * h, h);
        }
        assertArrayEquals(ref, out.values(), "embedding rows are exact copies");
    }

    @ParameterizedTest(name = "gatherRows(T={0},H={1})")
    @MethodSource("elementCases")
    void gatherRows(int t, int h) {
        SplittableRandom rnd = new SplittableRandom(h + 500L * t);
        float[] x = random(rnd, t * h, 1);
        int[] rows = {t - 1, 0, t / 2};
        TestSupport.Padded out = new TestSupport.Padded(backend, rows.length, h);
        backend.gatherRows(out.view, TestSupport.input(backend, x, t, h, true), CpuTensor.of(rows));
        out.checkSentinels("gatherRows");
        float[] ref = new float[rows.length * h];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(x, rows[i] * h, ref, i * h, h);
        }
        assertArrayEquals(ref, out.values());
    }

    @ParameterizedTest(name = "takePreviousIds(T={0})")
    @MethodSource("previousIdCases")
    void takePreviousIds(int t, int numPrevious) {
        SplittableRandom rnd = new SplittableRandom(31L * t + numPrevious);
        int[] ids = new int[t];
        int[] rows = new int[t];
        int[] previous = new int[numPrevious];
        for (int i = 0; i < numPrevious; i++) {
            previous[i] = rnd.nextInt(1 << 20);
        }
        int[] want = new int[t];
        for (int i = 0; i < t; i++) {
            ids[i] = rnd.nextInt(1 << 20);
            rows[i] = i == 0 ? numPrevious - 1 : rnd.nextInt(-1, numPrevious);
            want[i] = rows[i] >= 0 ? previous[rows[i]] : ids[i];
        }
        // ids as the model holds them: an [T, 1] view of a larger buffer, whose rows past T stay
        int[] buffer = new int[t + 3];
        System.arraycopy(ids, 0, buffer, 0, t);
        Arrays.fill(buffer, t, t + 3, -7);
        CpuTensor full = CpuTensor.of(buffer, t + 3, 1);
        backend.takePreviousIds(backend.sliceRows(full, 0, t), CpuTensor.of(previous, numPrevious, 1),
                CpuTensor.of(rows, t, 1));
        int[] got = full.toIntArray();
        assertArrayEquals(want, Arrays.copyOf(got, t));
        assertArrayEquals(new int[] {-7, -7, -7}, Arrays.copyOfRange(got, t, t + 3), "rows past T untouched");
    }

    static List<Arguments> previousIdCases() {
        return List.of(Arguments.of(1, 1), Arguments.of(5, 3), Arguments.of(300, 64));
    }

    @Test
    void takePreviousIdsRejectsARowPastThePreviousIds() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> backend.takePreviousIds(CpuTensor.of(new int[] {1, 2}), CpuTensor.of(new int[] {9}),
                        CpuTensor.of(new int[] {-1, 1})));
        assertTrue(e.getMessage().contains("previous row 1 of token 1"),
                e.getMessage());
    }
}
