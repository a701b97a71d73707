package dev.jlight.cpu;

import static dev.jlight.cpu.TestSupport.assertClose;
import static dev.jlight.cpu.TestSupport.random;
import static dev.jlight.cpu.TestSupport.roundTo;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jlight.core.backend.Tensor;
import dev.jlight.core.weights.DType;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * moeTopK and moeExperts against naive per-token references in double: several T / E / k, T = 1,
 * experts that get no token, k = 1 and k = E, bf16/f32 weights stacked densely or by concatRows
 * (as the Mixtral loader does), strided inputs and sentinel-padded outputs.
 */
class CpuMoeTest {
    private static CpuBackend backend;

    @BeforeAll
    static void open() {
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    // ---- router ---------------------------------------------------------------------------------

    static List<Arguments> routerCases() {
        List<Arguments> out = new ArrayList<>();
        for (int[] c : new int[][] {{1, 8, 2}, {5, 4, 1}, {7, 4, 4}, {33, 8, 2}, {16, 64, 6}}) {
            for (boolean renorm : new boolean[] {true, false}) {
                out.add(Arguments.of(c[0], c[1], c[2], renorm));
            }
        }
        return out;
    }

    @ParameterizedTest(name = "moeTopK(T={0},E={1},k={2},renorm={3})")
    @MethodSource("routerCases")
    void topKMatchesSortedSoftmax(int t, int e, int k, boolean renorm) {
        SplittableRandom rnd = new SplittableRandom(31L * t + e + k);
        float[] logits = random(rnd, t * e, 4);
        Tensor ids = backend.allocate(DType.I32, t, k);
        Tensor weights = backend.allocate(DType.F32, t, k);
        backend.moeTopK(ids, weights, TestSupport.input(backend, logits, t, e, true), k, renorm);
        int[] gotIds = ((CpuTensor) ids).toIntArray();
        float[] gotW = ((CpuTensor) weights).toFloatArray();
        for (int row = 0; row < t; row++) {
            double[] p = softmax(logits, row, e);
            Integer[] order = new Integer[e];
            for (int i = 0; i < e; i++) {
                order[i] = i;
            }
            java.util.Arrays.sort(order, (a, b) -> p[a] != p[b] ? Double.compare(p[b], p[a]) : Integer.compare(a, b));
            double sum = 0;
            for (int j = 0; j < k; j++) {
                sum += p[order[j]];
            }
            for (int j = 0; j < k; j++) {
                assertEquals(order[j], gotIds[row * k + j], "token " + row + " choice " + j);
                double want = renorm ? p[order[j]] / sum : p[order[j]];
                assertEquals(want, gotW[row * k + j], 1e-6 * Math.max(1, want), "token " + row + " weight " + j);
            }
        }
    }

    @Test
    void topKBreaksTiesByLowerExpertId() {
        float[] logits = {0.5f, 2f, 2f, 0.5f, 2f};
        Tensor ids = backend.allocate(DType.I32, 1, 3);
        Tensor weights = backend.allocate(DType.F32, 1, 3);
        backend.moeTopK(ids, weights, CpuTensor.of(logits, 1, 5), 3, true);
        assertArrayEquals(new int[] {1, 2, 4}, ((CpuTensor) ids).toIntArray());
        assertArrayEquals(new float[] {1 / 3f, 1 / 3f, 1 / 3f}, ((CpuTensor) weights).toFloatArray(), 1e-6f);
    }

    // ---- experts --------------------------------------------------------------------------------

    /** T, E, k, H, I, experts used (E = all, less = some get no token), weight dtype, stacked by concatRows. */
    static List<Arguments> expertCases() {
        List<Arguments> out = new ArrayList<>();
        int[][] shapes = {
            {1, 4, 2, 32, 48, 4},     // decode: one token
            {1, 8, 1, 16, 24, 8},     // k = 1
            {5, 4, 4, 20, 12, 4},     // k = E, odd widths (vector tails)
            {9, 8, 2, 32, 40, 3},     // five experts get no token
            {40, 8, 2, 64, 96, 8},    // many tokens per expert (batched matmul tiles)
            {17, 16, 3, 24, 8, 16}};
        for (int[] s : shapes) {
            for (DType dt : new DType[] {DType.F32, DType.BF16}) {
                for (boolean concat : new boolean[] {false, true}) {
                    out.add(Arguments.of(s[0], s[1], s[2], s[3], s[4], s[5], dt, concat));
                }
            }
        }
        return out;
    }

    @ParameterizedTest(name = "moeExperts(T={0},E={1},k={2},H={3},I={4},used={5},w={6},concat={7})")
    @MethodSource("expertCases")
    void expertsMatchPerTokenReference(int t, int e, int k, int h, int inter, int used, DType dt, boolean concat) {
        SplittableRandom rnd = new SplittableRandom(1000L * t + 100L * e + 10L * k + h + inter);
        float[] x = random(rnd, t * h, 1);
        float[] gateUp = roundTo(dt, random(rnd, e * 2 * inter * h, 0.5));
        float[] down = roundTo(dt, random(rnd, e * h * inter, 0.5));
        int[] ids = new int[t * k];
        float[] w = new float[t * k];
        for (int row = 0; row < t; row++) {
            List<Integer> pool = new ArrayList<>();
            for (int i = 0; i < used; i++) {
                pool.add(i * (e / used)); // spread the used experts so unused ones sit between them
            }
            for (int j = 0; j < k; j++) {
                ids[row * k + j] = pool.remove(rnd.nextInt(pool.size()));
                w[row * k + j] = (float) rnd.nextDouble();
            }
        }
        TestSupport.Padded out = new TestSupport.Padded(backend, t, h);
        backend.moeExperts(out.view, TestSupport.input(backend, x, t, h, true),
                stacked(dt, gateUp, e, 2 * inter, h, concat), stacked(dt, down, e, h, inter, concat),
                CpuTensor.of(ids, t, k), CpuTensor.of(w, t, k), e);
        out.checkSentinels("moeExperts");
        assertClose("moeExperts", reference(x, gateUp, down, ids, w, t, k, h, inter), out.values(), 1e-4);
    }

    @Test
    void expertIdOutsideTheExpertsIsAnError() {
        Tensor x = backend.allocate(DType.F32, 1, 4);
        TestSupport.fill(x, new float[4]);
        Tensor gu = TestSupport.weight(backend, DType.F32, new float[2 * 2 * 3 * 4], 12, 4);
        Tensor dn = TestSupport.weight(backend, DType.F32, new float[2 * 4 * 3], 8, 3);
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> backend.moeExperts(
                backend.allocate(DType.F32, 1, 4), x, gu, dn, CpuTensor.of(new int[] {0, 2}, 1, 2),
                CpuTensor.of(new float[] {0.5f, 0.5f}, 1, 2), 2));
        assertTrue(ex.getMessage().contains("expert id 2"), ex.getMessage());
    }

    @Test
    void wrongStackedShapesAreAnError() {
        Tensor x = backend.allocate(DType.F32, 1, 4);
        Tensor gu = TestSupport.weight(backend, DType.F32, new float[12 * 4], 12, 4);
        Tensor dn = TestSupport.weight(backend, DType.F32, new float[8 * 2], 8, 2); // I = 2, gate/up say 3
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> backend.moeExperts(
                backend.allocate(DType.F32, 1, 4), x, gu, dn, CpuTensor.of(new int[] {0}, 1, 1),
                CpuTensor.of(new float[] {1f}, 1, 1), 2));
        assertTrue(ex.getMessage().contains("2 experts"), ex.getMessage());
    }

    /** [E*rows, cols] weight: one dense tensor, or E per-expert parts joined by concatRows. */
    private static Tensor stacked(DType dt, float[] values, int e, int rows, int cols, boolean concat) {
        if (!concat) {
            return TestSupport.weight(backend, dt, values, (long) e * rows, cols);
        }
        Tensor[] parts = new Tensor[e];
        for (int x = 0; x < e; x++) {
            float[] part = java.util.Arrays.copyOfRange(values, x * rows * cols, (x + 1) * rows * cols);
            parts[x] = TestSupport.weight(backend, dt, part, rows, cols);
        }
        return backend.concatRows(parts);
    }

    private static double[] reference(float[] x, float[] gateUp, float[] down, int[] ids, float[] w, int t, int k,
                                      int h, int inter) {
        double[] out = new double[t * h];
        for (int row = 0; row < t; row++) {
            for (int j = 0; j < k; j++) {
                int e = ids[row * k + j];
                double[] act = new double[inter];
                for (int i = 0; i < inter; i++) {
                    double g = dot(x, row * h, gateUp, (e * 2 * inter + i) * h, h);
                    double u = dot(x, row * h, gateUp, (e * 2 * inter + inter + i) * h, h);
                    act[i] = g / (1 + Math.exp(-g)) * u;
                }
                for (int c = 0; c < h; c++) {
                    double y = 0;
                    for (int i = 0; i < inter; i++) {
                        y += act[i] * down[(e * h + c) * inter + i];
                    }
                    out[row * h + c] += w[row * k + j] * y;
                }
            }
        }
        return out;
    }

    private static double dot(float[] a, int ao, float[] b, int bo, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += (double) a[ao + i] * b[bo + i];
        }
        return s;
    }

    private static double[] softmax(float[] logits, int row, int e) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < e; i++) {
            max = Math.max(max, logits[row * e + i]);
        }
        double[] p = new double[e];
        double sum = 0;
        for (int i = 0; i < e; i++) {
            p[i] = Math.exp(logits[row * e + i] - max);
            sum += p[i];
        }
        for (int i = 0; i < e; i++) {
            p[i] /= sum;
        }
        return p;
    }
}
