package dev.jlight.cpu;

import static dev.jlight.cpu.TestSupport.assertClose;
import static dev.jlight.cpu.TestSupport.random;
import static dev.jlight.cpu.TestSupport.roundTo;

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
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** matmul against a double reference: every weight dtype, token counts, odd dims, views, concats. */
class MatmulTest {
    private static CpuBackend backend;

    @BeforeAll
    static void open() {
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    static List<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        int[][] nk = {{100, 257}, {64, 64}, {33, 100}, {7, 16}, {70, 600}};
        for (DType dt : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            for (int t : new int[] {1, 3, 17}) {
                for (int[] d : nk) {
                    out.add(Arguments.of(dt, t, d[0], d[1], (t + d[0]) % 2 == 0));
                }
            }
            // GEMV chunks of 16 and 32 rows read as four streams, with a ragged last chunk
            out.add(Arguments.of(dt, 1, 301, 100, false));
            out.add(Arguments.of(dt, 1, 1000, 48, true));
        }
        return out;
    }

    @ParameterizedTest(name = "matmul(w={0},T={1},N={2},K={3},stridedX={4})")
    @MethodSource("cases")
    void matmul(DType dt, int t, int n, int k, boolean stridedX) {
        SplittableRandom rnd = new SplittableRandom(31L * t + 7L * n + k + dt.ordinal());
        float[] xv = random(rnd, t * k, 1);
        float[] wv = roundTo(dt, random(rnd, n * k, 1));
        Tensor x = TestSupport.input(backend, xv, t, k, stridedX);
        Tensor w = TestSupport.weight(backend, dt, wv, n, k);
        TestSupport.Padded out = new TestSupport.Padded(backend, t, n);
        backend.matmul(out.view, x, w);
        out.checkSentinels("matmul");
        assertClose("matmul", reference(xv, wv, t, n, k), out.values());
    }

    /** Fused QKV: three weights kept as parts, one matmul. */
    @ParameterizedTest(name = "matmul(concat w={0},T={1})")
    @MethodSource("concatCases")
    void concatenatedWeight(DType dt, int t) {
        int k = 72;
        int[] rows = {40, 9, 8};
        SplittableRandom rnd = new SplittableRandom(5 + t);
        float[] xv = random(rnd, t * k, 1);
        Tensor[] parts = new Tensor[rows.length];
        float[] all = new float[(40 + 9 + 8) * k];
        int at = 0;
        for (int i = 0; i < rows.length; i++) {
            float[] wv = roundTo(dt, random(rnd, rows[i] * k, 1));
            System.arraycopy(wv, 0, all, at, wv.length);
            at += wv.length;
            parts[i] = TestSupport.weight(backend, dt, wv, rows[i], k);
        }
        Tensor w = backend.concatRows(parts);
        TestSupport.Padded out = new TestSupport.Padded(backend, t, 57);
        backend.matmul(out.view, TestSupport.input(backend, xv, t, k, true), w);
        out.checkSentinels("matmul");
        assertClose("matmul concat", reference(xv, all, t, 57, k), out.values());

        // a slice of the concatenation crossing a part boundary (a tensor-parallel shard)
        Tensor shard = backend.sliceRows(w, 30, 45);
        TestSupport.Padded out2 = new TestSupport.Padded(backend, t, 15);
        backend.matmul(out2.view, TestSupport.input(backend, xv, t, k, false), shard);
        out2.checkSentinels("matmul");
        float[] shardW = new float[15 * k];
        System.arraycopy(all, 30 * k, shardW, 0, 15 * k);
        assertClose("matmul concat shard", reference(xv, shardW, t, 15, k), out2.values());
    }

    static List<Arguments> concatCases() {
        List<Arguments> out = new ArrayList<>();
        for (DType dt : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            for (int t : new int[] {1, 17}) {
                out.add(Arguments.of(dt, t));
            }
        }
        return out;
    }

    /** A weight with a row stride (columns cut out of a wider one, as a row-parallel shard is). */
    @ParameterizedTest(name = "matmul(strided w={0})")
    @EnumSource(value = DType.class, names = {"F32", "BF16", "F16"})
    void stridedWeight(DType dt) {
        int t = 6;
        int n = 21;
        int k = 70;
        int wide = 100;
        SplittableRandom rnd = new SplittableRandom(11);
        float[] xv = random(rnd, t * k, 1);
        float[] wideV = roundTo(dt, random(rnd, n * wide, 1));
        Tensor w = backend.sliceCols(TestSupport.weight(backend, dt, wideV, n, wide), 13, 13 + k);
        float[] wv = new float[n * k];
        for (int r = 0; r < n; r++) {
            System.arraycopy(wideV, r * wide + 13, wv, r * k, k);
        }
        TestSupport.Padded out = new TestSupport.Padded(backend, t, n);
        backend.matmul(out.view, TestSupport.input(backend, xv, t, k, false), w);
        out.checkSentinels("matmul");
        assertClose("matmul strided w", reference(xv, wv, t, n, k), out.values());
    }

    /** K longer than one K block: partial sums of the blocks are added into out. */
    @ParameterizedTest(name = "matmul(w={0},T=5,N=6,K=KC+100)")
    @EnumSource(value = DType.class, names = {"F32", "BF16", "F16"})
    void longK(DType dt) {
        int t = 5;
        int n = 6;
        int k = Matmul.KC + 100;
        SplittableRandom rnd = new SplittableRandom(13);
        float[] xv = random(rnd, t * k, 1);
        float[] wv = roundTo(dt, random(rnd, n * k, 1));
        TestSupport.Padded out = new TestSupport.Padded(backend, t, n);
        backend.matmul(out.view, TestSupport.input(backend, xv, t, k, true), TestSupport.weight(backend, dt, wv, n, k));
        out.checkSentinels("matmul");
        assertClose("matmul long K", reference(xv, wv, t, n, k), out.values());
    }

    /** Same answer on 1 and 3 threads for a matmul big enough to be split. */
    @Test
    void threadCountDoesNotChangeTheResult() {
        int t = 9;
        int n = 260;
        int k = 600;
        SplittableRandom rnd = new SplittableRandom(3);
        float[] xv = random(rnd, t * k, 1);
        float[] wv = roundTo(DType.BF16, random(rnd, n * k, 1));
        double[] ref = reference(xv, wv, t, n, k);
        for (int threads : new int[] {1, 3}) {
            try (CpuBackend b = new CpuBackend(threads)) {
                TestSupport.Padded out = new TestSupport.Padded(b, t, n);
                b.matmul(out.view, TestSupport.input(b, xv, t, k, false), TestSupport.weight(b, DType.BF16, wv, n, k));
                out.checkSentinels("matmul");
                assertClose("matmul threads=" + threads, ref, out.values());
            }
        }
    }

    static double[] reference(float[] x, float[] w, int t, int n, int k) {
        double[] out = new double[t * n];
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int c = 0; c < k; c++) {
                    s += (double) x[i * k + c] * w[j * k + c];
                }
                out[i * n + j] = s;
            }
        }
        return out;
    }
}
