package dev.jlight.cpu;

import static dev.jlight.cpu.Vec.F;
import static dev.jlight.cpu.Vec.L;

import dev.jlight.core.weights.DType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The inner kernels of {@link Matmul}. x is a heap float[] (Matmul copies the activations in per
 * call), {@code xo}/{@code xs} its element offset and row stride; w is the weight's segment with
 * byte offset {@code wo} of the first row and byte row stride {@code ws}; out is written at byte
 * offset {@code oo} with byte row stride {@code os}. Sums over [k0, k1) run in f32 vector lanes,
 * then a lane reduction plus a scalar tail; {@code acc} adds to what out holds (K-blocked calls).
 *
 * <p>Each weight row is sliced to [k0, kv) before the loop so its offsets start at 0: in that form
 * C2 hoists the segment bounds checks (about 2x faster than base+offset addressing on JDK 25).
 *
 * <p>BF16/F16: each step loads 2L weights as L ints (an int holds an even element in its low half
 * and the next odd one in its high half) and widens them with two integer ops into an "even" and
 * an "odd" vector, no lane-crossing conversion. x must then be in the layout of
 * {@link Matmul#permute}: per block of 2L elements, the L even-indexed ones, then the L odd ones
 * (elements past the last full block stay in place for the scalar tail).
 *
 * <p>Written out per dtype on purpose: a shared body with a dtype switch inside the loop would
 * leave C2 a merged vector value it may box. Generated text, kept readable; edit all three alike.
 */
final class MatmulKernels {
    private MatmulKernels() {
    }

    private static void put(MemorySegment o, long off, float v, boolean acc) {
        o.set(Vec.FLOAT, off, acc ? o.get(Vec.FLOAT, off) + v : v);
    }

    // ---- F32 weights ------------------------------------------------------------------------

    /** out[t0+i, c0+j] (+)= x[t0+i, k0:k1] . w[r0+j, k0:k1] for i < 4, j < 2. */
    static void f32Tile4x2(float[] x, int xo, int xs, MemorySegment w, long wo, long ws, int k0, int k1,
                           MemorySegment o, long oo, long os, boolean acc) {
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F), a21 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F), a31 = FloatVector.zero(F);
        int kv = k0 + (k1 - k0) / L * L;
        int x1 = xo + xs, x2 = x1 + xs, x3 = x2 + xs;
        long w1 = wo + ws;
        MemorySegment w0s = w.asSlice(wo + 4L * k0, 4L * (kv - k0));
        MemorySegment w1s = w.asSlice(w1 + 4L * k0, 4L * (kv - k0));
        for (int k = k0; k < kv; k += L) {
            long b = 4L * (k - k0);
            FloatVector v0 = Vec.f32(w0s, b);
            FloatVector v1 = Vec.f32(w1s, b);
            FloatVector u = FloatVector.fromArray(F, x, xo + k);
            a00 = u.fma(v0, a00);
            a01 = u.fma(v1, a01);
            u = FloatVector.fromArray(F, x, x1 + k);
            a10 = u.fma(v0, a10);
            a11 = u.fma(v1, a11);
            u = FloatVector.fromArray(F, x, x2 + k);
            a20 = u.fma(v0, a20);
            a21 = u.fma(v1, a21);
            u = FloatVector.fromArray(F, x, x3 + k);
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

    /**
     * out[t, c_j] (+)= x[t, k0:k1] . w[r_j, k0:k1] for j < 4 (one token, four weight rows
     * {@code ws} bytes apart, their outputs {@code ocs} bytes apart).
     */
    static void f32Row1x4(float[] x, int xo, MemorySegment w, long wo, long ws, int k0, int k1,
                          MemorySegment o, long oo, long ocs, boolean acc) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        int kv = k0 + (k1 - k0) / L * L;
        long w1 = wo + ws, w2 = w1 + ws, w3 = w2 + ws;
        long len = 4L * (kv - k0);
        MemorySegment w0s = w.asSlice(wo + 4L * k0, len);
        MemorySegment w1s = w.asSlice(w1 + 4L * k0, len);
        MemorySegment w2s = w.asSlice(w2 + 4L * k0, len);
        MemorySegment w3s = w.asSlice(w3 + 4L * k0, len);
        for (int k = k0; k < kv; k += L) {
            long b = 4L * (k - k0);
            FloatVector u = FloatVector.fromArray(F, x, xo + k);
            a0 = u.fma(Vec.f32(w0s, b), a0);
            a1 = u.fma(Vec.f32(w1s, b), a1);
            a2 = u.fma(Vec.f32(w2s, b), a2);
            a3 = u.fma(Vec.f32(w3s, b), a3);
        }
        put(o, oo, a0.reduceLanes(VectorOperators.ADD) + f32Tail(x, xo, w, wo, kv, k1), acc);
        put(o, oo + ocs, a1.reduceLanes(VectorOperators.ADD) + f32Tail(x, xo, w, w1, kv, k1), acc);
        put(o, oo + 2 * ocs, a2.reduceLanes(VectorOperators.ADD) + f32Tail(x, xo, w, w2, kv, k1), acc);
        put(o, oo + 3 * ocs, a3.reduceLanes(VectorOperators.ADD) + f32Tail(x, xo, w, w3, kv, k1), acc);
    }

    /** out[t, c] (+)= x[t, k0:k1] . w[r, k0:k1]. */
    static void f32Dot(float[] x, int xo, MemorySegment w, long wo, int k0, int k1,
                       MemorySegment o, long oo, boolean acc) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int kv = k0 + (k1 - k0) / L * L;
        MemorySegment w0s = w.asSlice(wo + 4L * k0, 4L * (kv - k0));
        for (int k = k0; k < kv; k += L) {
            long b = 4L * (k - k0);
            a0 = FloatVector.fromArray(F, x, xo + k).fma(Vec.f32(w0s, b), a0);
        }
        put(o, oo, a0.add(a1).reduceLanes(VectorOperators.ADD) + f32Tail(x, xo, w, wo, kv, k1), acc);
    }

    private static float f32Tail(float[] x, int xo, MemorySegment w, long wo, int k0, int k1) {
        float s = 0;
        for (int k = k0; k < k1; k++) {
            s += x[xo + k] * w.get(Vec.FLOAT, wo + 4L * k);
        }
        return s;
    }

    // ---- BF16 weights (x pair-permuted; k0 a multiple of 2L) ------------------------------------

    /** out[t0+i, c0+j] (+)= x[t0+i, k0:k1] . w[r0+j, k0:k1] for i < 4, j < 2. k0 a multiple of 2L. */
    static void bf16Tile4x2(float[] x, int xo, int xs, MemorySegment w, long wo, long ws, int k0, int k1,
                           MemorySegment o, long oo, long os, boolean acc) {
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F), a21 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F), a31 = FloatVector.zero(F);
        int kv = k0 + (k1 - k0) / (2 * L) * (2 * L);
        int x1 = xo + xs, x2 = x1 + xs, x3 = x2 + xs;
        long w1 = wo + ws;
        MemorySegment w0s = w.asSlice(wo + 2L * k0, 2L * (kv - k0));
        MemorySegment w1s = w.asSlice(w1 + 2L * k0, 2L * (kv - k0));
        for (int k = k0; k < kv; k += (2 * L)) {
            long b = 2L * (k - k0);
            IntVector p0 = Vec.ints(w0s, b);
            IntVector p1 = Vec.ints(w1s, b);
            FloatVector e0 = Vec.bf16Even(p0), d0 = Vec.bf16Odd(p0);
            FloatVector e1 = Vec.bf16Even(p1), d1 = Vec.bf16Odd(p1);
            FloatVector u = FloatVector.fromArray(F, x, xo + k), v = FloatVector.fromArray(F, x, xo + k + L);
            a00 = v.fma(d0, u.fma(e0, a00));
            a01 = v.fma(d1, u.fma(e1, a01));
            u = FloatVector.fromArray(F, x, x1 + k);
            v = FloatVector.fromArray(F, x, x1 + k + L);
            a10 = v.fma(d0, u.fma(e0, a10));
            a11 = v.fma(d1, u.fma(e1, a11));
            u = FloatVector.fromArray(F, x, x2 + k);
            v = FloatVector.fromArray(F, x, x2 + k + L);
            a20 = v.fma(d0, u.fma(e0, a20));
            a21 = v.fma(d1, u.fma(e1, a21));
            u = FloatVector.fromArray(F, x, x3 + k);
            v = FloatVector.fromArray(F, x, x3 + k + L);
            a30 = v.fma(d0, u.fma(e0, a30));
            a31 = v.fma(d1, u.fma(e1, a31));
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

    /**
     * out[t, c_j] (+)= x[t, k0:k1] . w[r_j, k0:k1] for j < 4 (one token, four weight rows
     * {@code ws} bytes apart, their outputs {@code ocs} bytes apart).
     */
    static void bf16Row1x4(float[] x, int xo, MemorySegment w, long wo, long ws, int k0, int k1,
                          MemorySegment o, long oo, long ocs, boolean acc) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        int kv = k0 + (k1 - k0) / (2 * L) * (2 * L);
        long w1 = wo + ws, w2 = w1 + ws, w3 = w2 + ws;
        long len = 2L * (kv - k0);
        MemorySegment w0s = w.asSlice(wo + 2L * k0, len);
        MemorySegment w1s = w.asSlice(w1 + 2L * k0, len);
        MemorySegment w2s = w.asSlice(w2 + 2L * k0, len);
        MemorySegment w3s = w.asSlice(w3 + 2L * k0, len);
        for (int k = k0; k < kv; k += (2 * L)) {
            long b = 2L * (k - k0);
            FloatVector u = FloatVector.fromArray(F, x, xo + k);
            FloatVector v = FloatVector.fromArray(F, x, xo + k + L);
            IntVector p = Vec.ints(w0s, b);
            a0 = v.fma(Vec.bf16Odd(p), u.fma(Vec.bf16Even(p), a0));
            p = Vec.ints(w1s, b);
            a1 = v.fma(Vec.bf16Odd(p), u.fma(Vec.bf16Even(p), a1));
            p = Vec.ints(w2s, b);
            a2 = v.fma(Vec.bf16Odd(p), u.fma(Vec.bf16Even(p), a2));
            p = Vec.ints(w3s, b);
            a3 = v.fma(Vec.bf16Odd(p), u.fma(Vec.bf16Even(p), a3));
        }
        put(o, oo, a0.reduceLanes(VectorOperators.ADD) + bf16Tail(x, xo, w, wo, kv, k1), acc);
        put(o, oo + ocs, a1.reduceLanes(VectorOperators.ADD) + bf16Tail(x, xo, w, w1, kv, k1), acc);
        put(o, oo + 2 * ocs, a2.reduceLanes(VectorOperators.ADD) + bf16Tail(x, xo, w, w2, kv, k1), acc);
        put(o, oo + 3 * ocs, a3.reduceLanes(VectorOperators.ADD) + bf16Tail(x, xo, w, w3, kv, k1), acc);
    }

    /** out[t, c] (+)= x[t, k0:k1] . w[r, k0:k1]. */
    static void bf16Dot(float[] x, int xo, MemorySegment w, long wo, int k0, int k1,
                       MemorySegment o, long oo, boolean acc) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int kv = k0 + (k1 - k0) / (2 * L) * (2 * L);
        MemorySegment w0s = w.asSlice(wo + 2L * k0, 2L * (kv - k0));
        for (int k = k0; k < kv; k += (2 * L)) {
            long b = 2L * (k - k0);
            IntVector p = Vec.ints(w0s, b);
            a0 = FloatVector.fromArray(F, x, xo + k).fma(Vec.bf16Even(p), a0);
            a1 = FloatVector.fromArray(F, x, xo + k + L).fma(Vec.bf16Odd(p), a1);
        }
        put(o, oo, a0.add(a1).reduceLanes(VectorOperators.ADD) + bf16Tail(x, xo, w, wo, kv, k1), acc);
    }

    private static float bf16Tail(float[] x, int xo, MemorySegment w, long wo, int k0, int k1) {
        float s = 0;
        for (int k = k0; k < k1; k++) {
            s += x[xo + k] * DType.bf16ToFloat(w.get(Vec.SHORT, wo + 2L * k));
        }
        return s;
    }

    // ---- F16 weights (x pair-permuted; k0 a multiple of 2L) ------------------------------------

    /**
     * out[t0+i, c0+j] (+)= x[t0+i, k0:k1] . w[r0+j, k0:k1] for i < 4, j < 2, as one weight row at a
     * time: an f16 widening is ~10 vector ops, and more than two per loop exceed C2's inlining
     * node budget (NodeCountInliningCutoff); a widening left as a call boxes every vector (10x slower).
     */
    static void f16Tile4x2(float[] x, int xo, int xs, MemorySegment w, long wo, long ws, int k0, int k1,
                           MemorySegment o, long oo, long os, boolean acc) {
        f16Tile4x1(x, xo, xs, w, wo, k0, k1, o, oo, os, acc);
        f16Tile4x1(x, xo, xs, w, wo + ws, k0, k1, o, oo + 4, os, acc);
    }

    /** out[t0+i, c] (+)= x[t0+i, k0:k1] . w[r, k0:k1] for i < 4; k0 a multiple of 2L. */
    static void f16Tile4x1(float[] x, int xo, int xs, MemorySegment w, long wo, int k0, int k1,
                           MemorySegment o, long oo, long os, boolean acc) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        int kv = k0 + (k1 - k0) / (2 * L) * (2 * L);
        int x1 = xo + xs, x2 = x1 + xs, x3 = x2 + xs;
        MemorySegment w0s = w.asSlice(wo + 2L * k0, 2L * (kv - k0));
        for (int k = k0; k < kv; k += 2 * L) {
            IntVector p = Vec.ints(w0s, 2L * (k - k0));
            FloatVector e = Vec.f16Even(p), d = Vec.f16Odd(p);
            a0 = FloatVector.fromArray(F, x, xo + k + L).fma(d, FloatVector.fromArray(F, x, xo + k).fma(e, a0));
            a1 = FloatVector.fromArray(F, x, x1 + k + L).fma(d, FloatVector.fromArray(F, x, x1 + k).fma(e, a1));
            a2 = FloatVector.fromArray(F, x, x2 + k + L).fma(d, FloatVector.fromArray(F, x, x2 + k).fma(e, a2));
            a3 = FloatVector.fromArray(F, x, x3 + k + L).fma(d, FloatVector.fromArray(F, x, x3 + k).fma(e, a3));
        }
        put(o, oo, a0.reduceLanes(VectorOperators.ADD) + f16Tail(x, xo, w, wo, kv, k1), acc);
        put(o, oo + os, a1.reduceLanes(VectorOperators.ADD) + f16Tail(x, x1, w, wo, kv, k1), acc);
        put(o, oo + 2 * os, a2.reduceLanes(VectorOperators.ADD) + f16Tail(x, x2, w, wo, kv, k1), acc);
        put(o, oo + 3 * os, a3.reduceLanes(VectorOperators.ADD) + f16Tail(x, x3, w, wo, kv, k1), acc);
    }

    /** As bf16Row1x4, one weight row at a time (see f16Tile4x2). */
    static void f16Row1x4(float[] x, int xo, MemorySegment w, long wo, long ws, int k0, int k1,
                          MemorySegment o, long oo, long ocs, boolean acc) {
        for (int j = 0; j < 4; j++) {
            f16Dot(x, xo, w, wo + j * ws, k0, k1, o, oo + j * ocs, acc);
        }
    }

    /** out[t, c] (+)= x[t, k0:k1] . w[r, k0:k1]. */
    static void f16Dot(float[] x, int xo, MemorySegment w, long wo, int k0, int k1,
                       MemorySegment o, long oo, boolean acc) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int kv = k0 + (k1 - k0) / (2 * L) * (2 * L);
        MemorySegment w0s = w.asSlice(wo + 2L * k0, 2L * (kv - k0));
        for (int k = k0; k < kv; k += (2 * L)) {
            long b = 2L * (k - k0);
            IntVector p = Vec.ints(w0s, b);
            a0 = FloatVector.fromArray(F, x, xo + k).fma(Vec.f16Even(p), a0);
            a1 = FloatVector.fromArray(F, x, xo + k + L).fma(Vec.f16Odd(p), a1);
        }
        put(o, oo, a0.add(a1).reduceLanes(VectorOperators.ADD) + f16Tail(x, xo, w, wo, kv, k1), acc);
    }

    private static float f16Tail(float[] x, int xo, MemorySegment w, long wo, int k0, int k1) {
        float s = 0;
        for (int k = k0; k < k1; k++) {
            s += x[xo + k] * Float.float16ToFloat(w.get(Vec.SHORT, wo + 2L * k));
        }
        return s;
    }
}
