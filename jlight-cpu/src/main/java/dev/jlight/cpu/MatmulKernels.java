package dev.jlight.cpu;

import static dev.jlight.cpu.Vec.F;
import static dev.jlight.cpu.Vec.L;

import dev.jlight.core.weights.DType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The inner kernels of {@link Matmul}, one copy per weight dtype (F32, BF16, F16) so each loop
 * has a single kind of load and C2 keeps every accumulator in a register. Offsets are in bytes:
 * {@code xo}/{@code wo}/{@code oo} point at the first element used, {@code xs}/{@code ws}/{@code os}
 * are row strides. Sums over [k0, k1) run in f32 vector lanes, then a lane reduction plus a scalar
 * tail; {@code acc} adds to what out holds (K-blocked calls) instead of overwriting it.
 *
 * <p>Written out three times on purpose: a shared body with a dtype switch inside the loop would
 * leave C2 a merged vector value it may box.
 */
final class MatmulKernels {
    private MatmulKernels() {
    }

    private static void put(MemorySegment o, long off, float v, boolean acc) {
        o.set(Vec.FLOAT, off, acc ? o.get(Vec.FLOAT, off) + v : v);
    }

    // ---- F32 weights ----------------------------------------------------------------------

    /** out[t0+i, c0+j] (+)= x[t0+i, k0:k1] . w[r0+j, k0:k1] for i < 4, j < 2. */
    static void f32Tile4x2(MemorySegment x, long xo, long xs, MemorySegment w, long wo, long ws, int k0, int k1,
                           MemorySegment o, long oo, long os, boolean acc) {
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F), a21 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F), a31 = FloatVector.zero(F);
        int kv = k0 + (k1 - k0) / L * L;
        long x1 = xo + xs, x2 = x1 + xs, x3 = x2 + xs, w1 = wo + ws;
        for (int k = k0; k < kv; k += L) {
            FloatVector v0 = Vec.f32(w, wo + 4L * k);
            FloatVector v1 = Vec.f32(w, w1 + 4L * k);
            long xk = 4L * k;
            FloatVector u = Vec.f32(x, xo + xk);
            a00 = u.fma(v0, a00);
            a01 = u.fma(v1, a01);
            u = Vec.f32(x, x1 + xk);
            a10 = u.fma(v0, a10);
            a11 = u.fma(v1, a11);
            u = Vec.f32(x, x2 + xk);
            a20 = u.fma(v0, a20);
            a21 = u.fma(v1, a21);
            u = Vec.f32(x, x3 + xk);
            a30 = u.fma(v0, a30);
            a31 = u.fma(v1, a31);
        }
        long o1 = oo + os, o2 = o1 + os, o3 = o2 + os;
        put(o, oo, a00.reduceLanes(VectorOperators.ADD) + f32Tail(x, xo, w, wo, kv, k1), acc);
        put(o, oo + 4, a01.reduceLanes(VectorOperators.ADD) + f32Tail(x, xo, w, w1, kv, k1), acc);
        put(o, o1, a10.reduceLanes(VectorOperators.ADD) + f32Tail(x, x1, w, wo, kv, k1), acc);
        put(o, o1 + 4, a11.reduceLanes(VectorOperators.ADD) + f32Tail(x, x1, w, w1, kv, k1), acc);
        put(o, o2, a20.reduceLanes(VectorOperators.ADD) + f32Tail(x, x2, w, wo, kv, k1), acc);
        put(o, o2 + 4, a21.reduceLanes(VectorOperators.ADD) + f32Tail(x, x2, w, w1, kv, k1), acc);
        put(o, o3, a30.reduceLanes(VectorOperators.ADD) + f32Tail(x, x3, w, wo, kv, k1), acc);
        put(o, o3 + 4, a31.reduceLanes(VectorOperators.ADD) + f32Tail(x, x3, w, w1, kv, k1), acc);
    }

    /** out[t, c0+j] (+)= x[t, k0:k1] . w[r0+j, k0:k1] for j < 4 (one token, four weight rows). */
    static void f32Row1x4(MemorySegment x, long xo, MemorySegment w, long wo, long ws, int k0, int k1,
                          MemorySegment o, long oo, boolean acc) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        int kv = k0 + (k1 - k0) / L * L;
        long w1 = wo + ws, w2 = w1 + ws, w3 = w2 + ws;
        for (int k = k0; k < kv; k += L) {
            FloatVector u = Vec.f32(x, xo + 4L * k);
            long wk = 4L * k;
            a0 = u.fma(Vec.f32(w, wo + wk), a0);
            a1 = u.fma(Vec.f32(w, w1 + wk), a1);
            a2 = u.fma(Vec.f32(w, w2 + wk), a2);
            a3 = u.fma(Vec.f32(w, w3 + wk), a3);
        }
        put(o, oo, a0.reduceLanes(VectorOperators.ADD) + f32Tail(x, xo, w, wo, kv, k1), acc);
        put(o, oo + 4, a1.reduceLanes(VectorOperators.ADD) + f32Tail(x, xo, w, w1, kv, k1), acc);
        put(o, oo + 8, a2.reduceLanes(VectorOperators.ADD) + f32Tail(x, xo, w, w2, kv, k1), acc);
        put(o, oo + 12, a3.reduceLanes(VectorOperators.ADD) + f32Tail(x, xo, w, w3, kv, k1), acc);
    }

    /** out[t, c] (+)= x[t, k0:k1] . w[r, k0:k1]. */
    static void f32Dot(MemorySegment x, long xo, MemorySegment w, long wo, int k0, int k1,
                       MemorySegment o, long oo, boolean acc) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int k = k0;
        for (; k + 2 * L <= k1; k += 2 * L) {
            a0 = Vec.f32(x, xo + 4L * k).fma(Vec.f32(w, wo + 4L * k), a0);
            a1 = Vec.f32(x, xo + 4L * (k + L)).fma(Vec.f32(w, wo + 4L * (k + L)), a1);
        }
        for (; k + L <= k1; k += L) {
            a0 = Vec.f32(x, xo + 4L * k).fma(Vec.f32(w, wo + 4L * k), a0);
        }
        put(o, oo, a0.add(a1).reduceLanes(VectorOperators.ADD) + f32Tail(x, xo, w, wo, k, k1), acc);
    }

    private static float f32Tail(MemorySegment x, long xo, MemorySegment w, long wo, int k0, int k1) {
        float s = 0;
        for (int k = k0; k < k1; k++) {
            s += x.get(Vec.FLOAT, xo + 4L * k) * w.get(Vec.FLOAT, wo + 4L * k);
        }
        return s;
    }

    // ---- BF16 weights ----------------------------------------------------------------------

    /** out[t0+i, c0+j] (+)= x[t0+i, k0:k1] . w[r0+j, k0:k1] for i < 4, j < 2. */
    static void bf16Tile4x2(MemorySegment x, long xo, long xs, MemorySegment w, long wo, long ws, int k0, int k1,
                           MemorySegment o, long oo, long os, boolean acc) {
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F), a21 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F), a31 = FloatVector.zero(F);
        int kv = k0 + (k1 - k0) / L * L;
        long x1 = xo + xs, x2 = x1 + xs, x3 = x2 + xs, w1 = wo + ws;
        for (int k = k0; k < kv; k += L) {
            FloatVector v0 = Vec.bf16(w, wo + 2L * k);
            FloatVector v1 = Vec.bf16(w, w1 + 2L * k);
            long xk = 4L * k;
            FloatVector u = Vec.f32(x, xo + xk);
            a00 = u.fma(v0, a00);
            a01 = u.fma(v1, a01);
            u = Vec.f32(x, x1 + xk);
            a10 = u.fma(v0, a10);
            a11 = u.fma(v1, a11);
            u = Vec.f32(x, x2 + xk);
            a20 = u.fma(v0, a20);
            a21 = u.fma(v1, a21);
            u = Vec.f32(x, x3 + xk);
            a30 = u.fma(v0, a30);
            a31 = u.fma(v1, a31);
        }
        long o1 = oo + os, o2 = o1 + os, o3 = o2 + os;
        put(o, oo, a00.reduceLanes(VectorOperators.ADD) + bf16Tail(x, xo, w, wo, kv, k1), acc);
        put(o, oo + 4, a01.reduceLanes(VectorOperators.ADD) + bf16Tail(x, xo, w, w1, kv, k1), acc);
        put(o, o1, a10.reduceLanes(VectorOperators.ADD) + bf16Tail(x, x1, w, wo, kv, k1), acc);
        put(o, o1 + 4, a11.reduceLanes(VectorOperators.ADD) + bf16Tail(x, x1, w, w1, kv, k1), acc);
        put(o, o2, a20.reduceLanes(VectorOperators.ADD) + bf16Tail(x, x2, w, wo, kv, k1), acc);
        put(o, o2 + 4, a21.reduceLanes(VectorOperators.ADD) + bf16Tail(x, x2, w, w1, kv, k1), acc);
        put(o, o3, a30.reduceLanes(VectorOperators.ADD) + bf16Tail(x, x3, w, wo, kv, k1), acc);
        put(o, o3 + 4, a31.reduceLanes(VectorOperators.ADD) + bf16Tail(x, x3, w, w1, kv, k1), acc);
    }

    /** out[t, c0+j] (+)= x[t, k0:k1] . w[r0+j, k0:k1] for j < 4 (one token, four weight rows). */
    static void bf16Row1x4(MemorySegment x, long xo, MemorySegment w, long wo, long ws, int k0, int k1,
                          MemorySegment o, long oo, boolean acc) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        int kv = k0 + (k1 - k0) / L * L;
        long w1 = wo + ws, w2 = w1 + ws, w3 = w2 + ws;
        for (int k = k0; k < kv; k += L) {
            FloatVector u = Vec.f32(x, xo + 4L * k);
            long wk = 2L * k;
            a0 = u.fma(Vec.bf16(w, wo + wk), a0);
            a1 = u.fma(Vec.bf16(w, w1 + wk), a1);
            a2 = u.fma(Vec.bf16(w, w2 + wk), a2);
            a3 = u.fma(Vec.bf16(w, w3 + wk), a3);
        }
        put(o, oo, a0.reduceLanes(VectorOperators.ADD) + bf16Tail(x, xo, w, wo, kv, k1), acc);
        put(o, oo + 4, a1.reduceLanes(VectorOperators.ADD) + bf16Tail(x, xo, w, w1, kv, k1), acc);
        put(o, oo + 8, a2.reduceLanes(VectorOperators.ADD) + bf16Tail(x, xo, w, w2, kv, k1), acc);
        put(o, oo + 12, a3.reduceLanes(VectorOperators.ADD) + bf16Tail(x, xo, w, w3, kv, k1), acc);
    }

    /** out[t, c] (+)= x[t, k0:k1] . w[r, k0:k1]. */
    static void bf16Dot(MemorySegment x, long xo, MemorySegment w, long wo, int k0, int k1,
                       MemorySegment o, long oo, boolean acc) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int k = k0;
        for (; k + 2 * L <= k1; k += 2 * L) {
            a0 = Vec.f32(x, xo + 4L * k).fma(Vec.bf16(w, wo + 2L * k), a0);
            a1 = Vec.f32(x, xo + 4L * (k + L)).fma(Vec.bf16(w, wo + 2L * (k + L)), a1);
        }
        for (; k + L <= k1; k += L) {
            a0 = Vec.f32(x, xo + 4L * k).fma(Vec.bf16(w, wo + 2L * k), a0);
        }
        put(o, oo, a0.add(a1).reduceLanes(VectorOperators.ADD) + bf16Tail(x, xo, w, wo, k, k1), acc);
    }

    private static float bf16Tail(MemorySegment x, long xo, MemorySegment w, long wo, int k0, int k1) {
        float s = 0;
        for (int k = k0; k < k1; k++) {
            s += x.get(Vec.FLOAT, xo + 4L * k) * DType.bf16ToFloat(w.get(Vec.SHORT, wo + 2L * k));
        }
        return s;
    }

    // ---- F16 weights ----------------------------------------------------------------------

    /** out[t0+i, c0+j] (+)= x[t0+i, k0:k1] . w[r0+j, k0:k1] for i < 4, j < 2. */
    static void f16Tile4x2(MemorySegment x, long xo, long xs, MemorySegment w, long wo, long ws, int k0, int k1,
                           MemorySegment o, long oo, long os, boolean acc) {
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F), a21 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F), a31 = FloatVector.zero(F);
        int kv = k0 + (k1 - k0) / L * L;
        long x1 = xo + xs, x2 = x1 + xs, x3 = x2 + xs, w1 = wo + ws;
        for (int k = k0; k < kv; k += L) {
            FloatVector v0 = Vec.f16(w, wo + 2L * k);
            FloatVector v1 = Vec.f16(w, w1 + 2L * k);
            long xk = 4L * k;
            FloatVector u = Vec.f32(x, xo + xk);
            a00 = u.fma(v0, a00);
            a01 = u.fma(v1, a01);
            u = Vec.f32(x, x1 + xk);
            a10 = u.fma(v0, a10);
            a11 = u.fma(v1, a11);
            u = Vec.f32(x, x2 + xk);
            a20 = u.fma(v0, a20);
            a21 = u.fma(v1, a21);
            u = Vec.f32(x, x3 + xk);
            a30 = u.fma(v0, a30);
            a31 = u.fma(v1, a31);
        }
        long o1 = oo + os, o2 = o1 + os, o3 = o2 + os;
        put(o, oo, a00.reduceLanes(VectorOperators.ADD) + f16Tail(x, xo, w, wo, kv, k1), acc);
        put(o, oo + 4, a01.reduceLanes(VectorOperators.ADD) + f16Tail(x, xo, w, w1, kv, k1), acc);
        put(o, o1, a10.reduceLanes(VectorOperators.ADD) + f16Tail(x, x1, w, wo, kv, k1), acc);
        put(o, o1 + 4, a11.reduceLanes(VectorOperators.ADD) + f16Tail(x, x1, w, w1, kv, k1), acc);
        put(o, o2, a20.reduceLanes(VectorOperators.ADD) + f16Tail(x, x2, w, wo, kv, k1), acc);
        put(o, o2 + 4, a21.reduceLanes(VectorOperators.ADD) + f16Tail(x, x2, w, w1, kv, k1), acc);
        put(o, o3, a30.reduceLanes(VectorOperators.ADD) + f16Tail(x, x3, w, wo, kv, k1), acc);
        put(o, o3 + 4, a31.reduceLanes(VectorOperators.ADD) + f16Tail(x, x3, w, w1, kv, k1), acc);
    }

    /** out[t, c0+j] (+)= x[t, k0:k1] . w[r0+j, k0:k1] for j < 4 (one token, four weight rows). */
    static void f16Row1x4(MemorySegment x, long xo, MemorySegment w, long wo, long ws, int k0, int k1,
                          MemorySegment o, long oo, boolean acc) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        int kv = k0 + (k1 - k0) / L * L;
        long w1 = wo + ws, w2 = w1 + ws, w3 = w2 + ws;
        for (int k = k0; k < kv; k += L) {
            FloatVector u = Vec.f32(x, xo + 4L * k);
            long wk = 2L * k;
            a0 = u.fma(Vec.f16(w, wo + wk), a0);
            a1 = u.fma(Vec.f16(w, w1 + wk), a1);
            a2 = u.fma(Vec.f16(w, w2 + wk), a2);
            a3 = u.fma(Vec.f16(w, w3 + wk), a3);
        }
        put(o, oo, a0.reduceLanes(VectorOperators.ADD) + f16Tail(x, xo, w, wo, kv, k1), acc);
        put(o, oo + 4, a1.reduceLanes(VectorOperators.ADD) + f16Tail(x, xo, w, w1, kv, k1), acc);
        put(o, oo + 8, a2.reduceLanes(VectorOperators.ADD) + f16Tail(x, xo, w, w2, kv, k1), acc);
        put(o, oo + 12, a3.reduceLanes(VectorOperators.ADD) + f16Tail(x, xo, w, w3, kv, k1), acc);
    }

    /** out[t, c] (+)= x[t, k0:k1] . w[r, k0:k1]. */
    static void f16Dot(MemorySegment x, long xo, MemorySegment w, long wo, int k0, int k1,
                       MemorySegment o, long oo, boolean acc) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int k = k0;
        for (; k + 2 * L <= k1; k += 2 * L) {
            a0 = Vec.f32(x, xo + 4L * k).fma(Vec.f16(w, wo + 2L * k), a0);
            a1 = Vec.f32(x, xo + 4L * (k + L)).fma(Vec.f16(w, wo + 2L * (k + L)), a1);
        }
        for (; k + L <= k1; k += L) {
            a0 = Vec.f32(x, xo + 4L * k).fma(Vec.f16(w, wo + 2L * k), a0);
        }
        put(o, oo, a0.add(a1).reduceLanes(VectorOperators.ADD) + f16Tail(x, xo, w, wo, k, k1), acc);
    }

    private static float f16Tail(MemorySegment x, long xo, MemorySegment w, long wo, int k0, int k1) {
        float s = 0;
        for (int k = k0; k < k1; k++) {
            s += x.get(Vec.FLOAT, xo + 4L * k) * Float.float16ToFloat(w.get(Vec.SHORT, wo + 2L * k));
        }
        return s;
    }
}
