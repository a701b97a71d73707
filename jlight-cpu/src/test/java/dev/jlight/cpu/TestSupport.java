package dev.jlight.cpu;

import static org.junit.jupiter.api.Assertions.fail;

import dev.jlight.core.backend.Tensor;
import dev.jlight.core.weights.DType;
import dev.jlight.core.weights.WeightTensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

/**
 * Shared test helpers in the style of ggml's test-backend-ops: random inputs, strided views,
 * outputs padded with sentinels (checked for overruns), and a comparison against a
 * double-precision reference with a relative tolerance.
 */
final class TestSupport {
    /** Relative tolerance for f32 math against a double reference. */
    static final double RTOL = 1e-5;
    static final float SENTINEL = -777.25f;

    private TestSupport() {
    }

    static float[] random(SplittableRandom rnd, int n, double amp) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((rnd.nextDouble() * 2 - 1) * amp);
        }
        return a;
    }

    /** Values exactly representable in the dtype (so a reference on the floats sees what the kernel sees). */
    static float[] roundTo(DType dt, float[] a) {
        float[] r = a.clone();
        for (int i = 0; i < r.length; i++) {
            r[i] = switch (dt) {
                case F32 -> r[i];
                case BF16 -> DType.bf16ToFloat(DType.floatToBf16(r[i]));
                case F16 -> Float.float16ToFloat(Float.floatToFloat16(r[i]));
                default -> throw new IllegalArgumentException(dt.toString());
            };
        }
        return r;
    }

    /** A weight as the engine makes it: a WeightTensor over a native segment, wrapped by backend.weight(). */
    static Tensor weight(CpuBackend b, DType dt, float[] values, long... shape) {
        MemorySegment seg = Arena.ofAuto().allocate((long) values.length * dt.bytes(), 64);
        for (int i = 0; i < values.length; i++) {
            Vec.store(dt, seg, i, values[i]);
        }
        return b.weight(new WeightTensor("w", dt, shape, seg, null));
    }

    /**
     * An f32 [rows, cols] tensor holding {@code values}; when {@code strided}, a view of columns
     * [3, 3+cols) of a wider tensor whose other columns hold NaN (a kernel that reads outside the
     * view poisons its result).
     */
    static Tensor input(CpuBackend b, float[] values, int rows, int cols, boolean strided) {
        if (!strided) {
            Tensor t = b.allocate(DType.F32, rows, cols);
            fill(t, values);
            return t;
        }
        int wide = cols + 5;
        CpuTensor base = (CpuTensor) b.allocate(DType.F32, rows, wide);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < wide; c++) {
                base.setFloat(r, c, Float.NaN);
            }
        }
        Tensor view = b.sliceCols(base, 3, 3 + cols);
        fill(view, values);
        return view;
    }

    static void fill(Tensor t, float[] values) {
        CpuTensor c = (CpuTensor) t;
        int i = 0;
        for (long r = 0; r < c.rows(); r++) {
            for (long col = 0; col < c.cols(); col++) {
                c.setFloat(r, col, values[i++]);
            }
        }
    }

    /** An output view [rows, cols] inside a sentinel-filled [rows+2, cols+8] buffer. */
    static final class Padded {
        final CpuTensor base;
        final Tensor view;
        final int rows;
        final int cols;

        Padded(CpuBackend b, int rows, int cols) {
            this.rows = rows;
            this.cols = cols;
            base = (CpuTensor) b.allocate(DType.F32, rows + 2, cols + 8);
            for (int r = 0; r < rows + 2; r++) {
                for (int c = 0; c < cols + 8; c++) {
                    base.setFloat(r, c, SENTINEL);
                }
            }
            view = b.sliceCols(b.sliceRows(base, 1, rows + 1), 3, 3 + cols);
        }

        float[] values() {
            return ((CpuTensor) view).toFloatArray();
        }

        void checkSentinels(String what) {
            for (int r = 0; r < rows + 2; r++) {
                for (int c = 0; c < cols + 8; c++) {
                    boolean inside = r >= 1 && r <= rows && c >= 3 && c < 3 + cols;
                    if (!inside && base.getFloat(r, c) != SENTINEL) {
                        fail(what + ": wrote outside its output at buffer [" + r + ", " + c + "] = " + base.getFloat(r, c));
                    }
                }
            }
        }
    }

    /**
     * Every element within RTOL * (|ref| + rms(ref)) of the reference: relative for large values,
     * scaled by the row's typical magnitude for values near zero after cancellation.
     */
    static void assertClose(String what, double[] ref, float[] got) {
        assertClose(what, ref, got, RTOL);
    }

    static void assertClose(String what, double[] ref, float[] got, double rtol) {
        if (ref.length != got.length) {
            fail(what + ": " + got.length + " values, expected " + ref.length);
        }
        double ss = 0;
        for (double r : ref) {
            ss += r * r;
        }
        double rms = Math.sqrt(ss / Math.max(1, ref.length));
        for (int i = 0; i < ref.length; i++) {
            double err = Math.abs(got[i] - ref[i]);
            if (!(err <= rtol * (Math.abs(ref[i]) + rms))) {
                fail(what + ": element " + i + " is " + got[i] + ", expected " + ref[i] + " (error " + err
                        + ", rms of expected " + rms + ")");
            }
        }
    }
}
