package dev.jlight.cpu;

import static dev.jlight.cpu.Vec.F;
import static dev.jlight.cpu.Vec.L;

import dev.jlight.core.weights.DType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The row-wise and elementwise ops (norms, bias, add, scale, SwiGLU, embedding, row gather) on
 * f32 activations. Shapes are checked by {@link CpuBackend}; here every tensor is a dense or
 * strided 2-D view and small parameter vectors (norm weights, biases, embedding rows) may be in
 * any float dtype, widened a vector at a time. Each op splits its rows over the pool when the
 * op is big enough to pay for the dispatch.
 */
final class Ops {
    /** Rows per parallel chunk are chosen so a chunk holds at least this many elements. */
    static final long CHUNK_ELEMENTS = 1L << 14;

    private Ops() {
    }

    /** Runs body over rows [0, rows) in chunks of at least CHUNK_ELEMENTS elements. */
    static void forRows(WorkerPool pool, long rows, long cols, WorkerPool.Body body) {
        int grain = (int) Math.max(1, CHUNK_ELEMENTS / Math.max(1, cols));
        pool.run((int) rows, grain, body);
    }

    // ---- norms ----------------------------------------------------------------------------------

    static void rmsNorm(WorkerPool pool, CpuTensor out, CpuTensor x, CpuTensor weight, float eps) {
        int h = (int) x.cols();
        MemorySegment o = out.segment();
        MemorySegment xs = x.segment();
        MemorySegment w = weight.segment();
        DType wt = weight.dtype();
        long os = out.rowStride();
        long xst = x.rowStride();
        forRows(pool, x.rows(), h, (from, to) -> {
            for (int t = from; t < to; t++) {
                long xo = t * xst;
                float inv = invRms(sumSquares(xs, xo, h), h, eps);
                normalize(o, t * os, xs, xo, w, wt, h, inv);
            }
        });
    }

    static void addRmsNorm(WorkerPool pool, CpuTensor out, CpuTensor residual, CpuTensor x, CpuTensor weight,
                           float eps) {
        int h = (int) x.cols();
        MemorySegment o = out.segment();
        MemorySegment r = residual.segment();
        MemorySegment xs = x.segment();
        MemorySegment w = weight.segment();
        DType wt = weight.dtype();
        long os = out.rowStride();
        long rst = residual.rowStride();
        long xst = x.rowStride();
        forRows(pool, x.rows(), h, (from, to) -> {
            for (int t = from; t < to; t++) {
                long ro = t * rst;
                long xo = t * xst;
                // residual += x, and the sum of squares of the new residual, in one pass
                FloatVector ss = FloatVector.zero(F);
                int i = 0;
                for (; i + L <= h; i += L) {
                    FloatVector v = Vec.f32(r, 4 * (ro + i)).add(Vec.f32(xs, 4 * (xo + i)));
                    v.intoMemorySegment(r, 4 * (ro + i), Vec.LE);
                    ss = v.fma(v, ss);
                }
                float s = ss.reduceLanes(VectorOperators.ADD);
                for (; i < h; i++) {
                    float v = Vec.getF(r, ro + i) + Vec.getF(xs, xo + i);
                    Vec.setF(r, ro + i, v);
                    s += v * v;
                }
                normalize(o, t * os, r, ro, w, wt, h, invRms(s, h, eps));
            }
        });
    }

    private static float sumSquares(MemorySegment x, long xo, int h) {
        FloatVector ss = FloatVector.zero(F);
        int i = 0;
        for (; i + L <= h; i += L) {
            FloatVector v = Vec.f32(x, 4 * (xo + i));
            ss = v.fma(v, ss);
        }
        float s = ss.reduceLanes(VectorOperators.ADD);
        for (; i < h; i++) {
            float v = Vec.getF(x, xo + i);
            s += v * v;
        }
        return s;
    }

    private static float invRms(float sumSquares, int h, float eps) {
        return (float) (1.0 / Math.sqrt(sumSquares / h + eps));
    }

    /** out = (x * inv) * w, as HF's LlamaRMSNorm multiplies. w is any float dtype. */
    private static void normalize(MemorySegment o, long oo, MemorySegment x, long xo, MemorySegment w, DType wt, int h,
                                  float inv) {
        int i = 0;
        switch (wt) {
            case F32 -> {
                for (; i + L <= h; i += L) {
                    Vec.f32(x, 4 * (xo + i)).mul(inv).mul(Vec.f32(w, 4L * i)).intoMemorySegment(o, 4 * (oo + i), Vec.LE);
                }
            }
            case BF16 -> {
                for (; i + L <= h; i += L) {
                    Vec.f32(x, 4 * (xo + i)).mul(inv).mul(Vec.bf16(w, 2L * i)).intoMemorySegment(o, 4 * (oo + i), Vec.LE);
                }
            }
            default -> { }
        }
        for (; i < h; i++) {
            Vec.setF(o, oo + i, Vec.getF(x, xo + i) * inv * Vec.load(wt, w, i));
        }
    }

    // ---- elementwise ----------------------------------------------------------------------------

    static void addBias(WorkerPool pool, CpuTensor x, CpuTensor bias) {
        int n = (int) x.cols();
        MemorySegment xs = x.segment();
        MemorySegment b = bias.segment();
        DType bt = bias.dtype();
        long st = x.rowStride();
        forRows(pool, x.rows(), n, (from, to) -> {
            for (int t = from; t < to; t++) {
                long xo = t * st;
                int i = 0;
                if (bt == DType.F32) {
                    for (; i + L <= n; i += L) {
                        Vec.f32(xs, 4 * (xo + i)).add(Vec.f32(b, 4L * i)).intoMemorySegment(xs, 4 * (xo + i), Vec.LE);
                    }
                } else if (bt == DType.BF16) {
                    for (; i + L <= n; i += L) {
                        Vec.f32(xs, 4 * (xo + i)).add(Vec.bf16(b, 2L * i)).intoMemorySegment(xs, 4 * (xo + i), Vec.LE);
                    }
                }
                for (; i < n; i++) {
                    Vec.setF(xs, xo + i, Vec.getF(xs, xo + i) + Vec.load(bt, b, i));
                }
            }
        });
    }

    static void add(WorkerPool pool, CpuTensor x, CpuTensor y) {
        int n = (int) x.cols();
        MemorySegment xs = x.segment();
        MemorySegment ys = y.segment();
        long xst = x.rowStride();
        long yst = y.rowStride();
        forRows(pool, x.rows(), n, (from, to) -> {
            for (int t = from; t < to; t++) {
                long xo = t * xst;
                long yo = t * yst;
                int i = 0;
                for (; i + L <= n; i += L) {
                    Vec.f32(xs, 4 * (xo + i)).add(Vec.f32(ys, 4 * (yo + i))).intoMemorySegment(xs, 4 * (xo + i), Vec.LE);
                }
                for (; i < n; i++) {
                    Vec.setF(xs, xo + i, Vec.getF(xs, xo + i) + Vec.getF(ys, yo + i));
                }
            }
        });
    }

    static void scale(WorkerPool pool, CpuTensor x, float s) {
        int n = (int) x.cols();
        MemorySegment xs = x.segment();
        long st = x.rowStride();
        forRows(pool, x.rows(), n, (from, to) -> {
            for (int t = from; t < to; t++) {
                long xo = t * st;
                int i = 0;
                for (; i + L <= n; i += L) {
                    Vec.f32(xs, 4 * (xo + i)).mul(s).intoMemorySegment(xs, 4 * (xo + i), Vec.LE);
                }
                for (; i < n; i++) {
                    Vec.setF(xs, xo + i, Vec.getF(xs, xo + i) * s);
                }
            }
        });
    }

    /** out = silu(g) * u with silu(g) = g / (1 + exp(-g)); g = gateUp[:, :I], u = gateUp[:, I:]. */
    static void siluMul(WorkerPool pool, CpuTensor out, CpuTensor gateUp) {
        int n = (int) out.cols();
        MemorySegment o = out.segment();
        MemorySegment gu = gateUp.segment();
        long os = out.rowStride();
        long gs = gateUp.rowStride();
        forRows(pool, out.rows(), n, (from, to) -> {
            for (int t = from; t < to; t++) {
                long go = t * gs;
                long uo = go + n;
                long oo = t * os;
                int i = 0;
                for (; i + L <= n; i += L) {
                    FloatVector g = Vec.f32(gu, 4 * (go + i));
                    FloatVector e = g.neg().lanewise(VectorOperators.EXP).add(1f);
                    g.div(e).mul(Vec.f32(gu, 4 * (uo + i))).intoMemorySegment(o, 4 * (oo + i), Vec.LE);
                }
                for (; i < n; i++) {
                    float g = Vec.getF(gu, go + i);
                    Vec.setF(o, oo + i, g / (1f + (float) Math.exp(-g)) * Vec.getF(gu, uo + i));
                }
            }
        });
    }

    // ---- row copies -----------------------------------------------------------------------------

    /** out[t] = table[ids[t]] widened to f32. Ids were range-checked by the caller. */
    static void embedding(WorkerPool pool, CpuTensor out, CpuTensor table, int[] ids) {
        int h = (int) out.cols();
        MemorySegment o = out.segment();
        MemorySegment tb = table.segment();
        DType dt = table.dtype();
        long os = out.rowStride();
        long ts = table.rowStride();
        forRows(pool, ids.length, h, (from, to) -> {
            for (int t = from; t < to; t++) {
                copyRowToF32(tb, dt, ids[t] * ts, o, t * os, h);
            }
        });
    }

    /** out[i] = x[rows[i]], same dtype; row indexes were range-checked by the caller. */
    static void gatherRows(CpuTensor out, CpuTensor x, int[] rows) {
        long rowBytes = x.cols() * x.dtype().bytes();
        MemorySegment o = out.segment();
        MemorySegment xs = x.segment();
        for (int i = 0; i < rows.length; i++) {
            MemorySegment.copy(xs, x.offset(rows[i], 0), o, out.offset(i, 0), rowBytes);
        }
    }

    static void copyRowToF32(MemorySegment src, DType dt, long srcIndex, MemorySegment dst, long dstIndex, int n) {
        switch (dt) {
            case F32 -> MemorySegment.copy(src, 4 * srcIndex, dst, 4 * dstIndex, 4L * n);
            case BF16 -> {
                int i = 0;
                for (; i + L <= n; i += L) {
                    Vec.bf16(src, 2 * (srcIndex + i)).intoMemorySegment(dst, 4 * (dstIndex + i), Vec.LE);
                }
                for (; i < n; i++) {
                    Vec.setF(dst, dstIndex + i, Vec.load(dt, src, srcIndex + i));
                }
            }
            default -> {
                int i = 0;
                for (; i + L <= n; i += L) {
                    Vec.loadVec(dt, src, srcIndex + i).intoMemorySegment(dst, 4 * (dstIndex + i), Vec.LE);
                }
                for (; i < n; i++) {
                    Vec.setF(dst, dstIndex + i, Vec.load(dt, src, srcIndex + i));
                }
            }
        }
    }
}
