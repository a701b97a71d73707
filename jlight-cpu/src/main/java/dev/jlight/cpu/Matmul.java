package dev.jlight.cpu;

import dev.jlight.core.weights.DType;
import java.lang.foreign.MemorySegment;

/**
 * out [T,N] = x [T,K] · wᵀ, w [N,K] in F32/BF16/F16 read in place.
 *
 * <p>Per call, x is first copied into a heap float[] of the calling thread (for BF16/F16 in the
 * pair-permuted layout of {@link #permute}); T×K floats, small next to the N×K weight, and heap
 * loads of x are the fastest form for the kernels. Very large T is processed in token blocks of
 * at most {@link #MAX_SCRATCH} floats.
 *
 * <p>Work is split over the weight's rows (output columns) in chunks of {@link #rowsPerChunk}
 * rows, claimed dynamically by the pool's threads; each chunk lives in one part of a
 * concatenated weight. Inside a chunk:
 * <ul>
 *   <li>T = 1 (decode GEMV, memory-bound): four weight rows per pass share each load of x; every
 *       weight byte is read exactly once.</li>
 *   <li>T > 1: tiles of 4 tokens × 2 rows keep 8 accumulators in registers, so each widened
 *       weight vector feeds 4 tokens; the chunk's rows (≤ 16 × K) stay in L2 while all token
 *       groups pass over them. Leftover tokens use the 1×4 kernel, leftover rows a single dot.</li>
 * </ul>
 * Rows are walked whole (K is cut only past {@link #KC}): measured on Zen 3 with a 2048×8192
 * bf16 weight streamed from DRAM, cutting K into 512-element blocks (short runs at a 16 KiB
 * stride, which the hardware prefetcher does not follow) was 1.6x slower at T=8 and T=32.
 */
final class Matmul {
    /** K block of the batched path, a multiple of 2L; only models with K > 16384 are cut. */
    static final int KC = 16384;
    /** Below this many multiply-adds the op runs on the calling thread alone. */
    static final long SMALL_WORK = 1L << 16;
    /** Largest activation copy, in floats (16 MiB); larger T×K runs in token blocks. */
    static final int MAX_SCRATCH = 1 << 22;

    private final ThreadLocal<float[]> scratch = ThreadLocal.withInitial(() -> new float[0]);

    void run(WorkerPool pool, CpuTensor out, CpuTensor x, CpuTensor w) {
        int t = (int) x.rows();
        int k = (int) x.cols();
        long n = w.rows();
        if (t == 0 || n == 0) {
            return;
        }
        int block = Math.max(1, Math.min(t, MAX_SCRATCH / Math.max(1, k)));
        for (int t0 = 0; t0 < t; t0 += block) {
            int tb = Math.min(block, t - t0);
            runBlock(pool, out, x, w, t0, tb, k, n);
        }
    }

    private void runBlock(WorkerPool pool, CpuTensor out, CpuTensor x, CpuTensor w, int t0, int t, int k, long n) {
        CpuTensor[] parts = w.isConcat() ? w.partsUnsafe() : new CpuTensor[] {w};
        int rb = rowsPerChunk(n, pool.threads(), t == 1 ? 32 : 16);
        int chunks = 0;
        for (CpuTensor part : parts) {
            chunks += (int) ((part.rows() + rb - 1) / rb);
        }
        int[] chunkPart = new int[chunks];
        long[] chunkRow = new long[chunks];
        long[] partBase = new long[parts.length];
        int c = 0;
        long base = 0;
        for (int p = 0; p < parts.length; p++) {
            partBase[p] = base;
            for (long r = 0; r < parts[p].rows(); r += rb) {
                chunkPart[c] = p;
                chunkRow[c++] = r;
            }
            base += parts[p].rows();
        }
        float[] xs = activations(x, t0, t, k, w.dtype() != DType.F32);
        MemorySegment os = out.segment();
        long oStride = out.rowStride() * 4;
        long o0 = t0 * oStride;
        long work = (long) t * n * k;
        pool.run(chunks, work < SMALL_WORK ? chunks : 1, (from, to) -> {
            for (int ci = from; ci < to; ci++) {
                CpuTensor part = parts[chunkPart[ci]];
                long r0 = chunkRow[ci];
                long r1 = Math.min(part.rows(), r0 + rb);
                long col0 = partBase[chunkPart[ci]] + r0;
                chunk(part.dtype(), xs, t, k, part.segment(), part.rowStride() * part.dtype().bytes(), r0,
                        (int) (r1 - r0), os, o0 + col0 * 4, oStride);
            }
        });
    }

    /** Rows [t0, t0+t) of x as a dense [t, k] float[] of this thread, permuted when {@code pairs}. */
    private float[] activations(CpuTensor x, int t0, int t, int k, boolean pairs) {
        int need = t * k;
        float[] s = scratch.get();
        if (s.length < need) {
            s = new float[Math.max(need, Math.min(MAX_SCRATCH, 2 * s.length))];
            scratch.set(s);
        }
        MemorySegment seg = x.segment();
        long stride = x.rowStride();
        for (int r = 0; r < t; r++) {
            MemorySegment.copy(seg, Vec.FLOAT, 4 * ((t0 + r) * stride), s, r * k, k);
            if (pairs) {
                permute(s, r * k, k);
            }
        }
        return s;
    }

    /**
     * Reorders one row of k elements in place: each block of 2L elements becomes its L
     * even-indexed elements then its L odd-indexed ones; elements past the last full block keep
     * their places. Matches the even/odd split of the BF16/F16 pair loads.
     */
    static void permute(float[] a, int off, int k) {
        int l = Vec.L;
        float[] tmp = new float[2 * l];
        for (int b = off; b + 2 * l <= off + k; b += 2 * l) {
            for (int j = 0; j < l; j++) {
                tmp[j] = a[b + 2 * j];
                tmp[l + j] = a[b + 2 * j + 1];
            }
            System.arraycopy(tmp, 0, a, b, 2 * l);
        }
    }

    /**
     * Multiple of 4 in [4, max], small enough to give each thread ~8 chunks for balance. GEMV
     * takes up to 32 rows (longer weight streams, see rowsOfToken); the batched path 16, whose
     * rows (16 × K) stay in L2 while the token groups pass over them.
     */
    static int rowsPerChunk(long n, int threads, int max) {
        long target = n / (8L * threads);
        return (int) Math.max(4, Math.min(max, target) & ~3L);
    }

    /**
     * Rows [r0, r0+rows) of one weight part, all t tokens of x (dense [t, k]). ws: weight row
     * stride in bytes; oo: byte offset of out[0, first column]; oss: out row stride in bytes.
     */
    private static void chunk(DType dt, float[] x, int t, int k, MemorySegment w, long ws, long r0, int rows,
                              MemorySegment o, long oo, long oss) {
        long wo = r0 * ws;
        if (t == 1) {
            rowsOfToken(dt, x, 0, w, wo, ws, rows, 0, k, o, oo, false);
            return;
        }
        for (int k0 = 0; k0 < k; k0 += KC) {
            int k1 = Math.min(k, k0 + KC);
            boolean acc = k0 > 0;
            int tt = 0;
            for (; tt + 4 <= t; tt += 4) {
                int xo = tt * k;
                long ot = oo + tt * oss;
                int r = 0;
                for (; r + 2 <= rows; r += 2) {
                    tile4x2(dt, x, xo, k, w, wo + r * ws, ws, k0, k1, o, ot + 4L * r, oss, acc);
                }
                for (; r < rows; r++) {
                    for (int i = 0; i < 4; i++) {
                        dot(dt, x, xo + i * k, w, wo + r * ws, k0, k1, o, ot + i * oss + 4L * r, acc);
                    }
                }
            }
            for (; tt < t; tt++) {
                rowsOfToken(dt, x, tt * k, w, wo, ws, rows, k0, k1, o, oo + tt * oss, acc);
            }
        }
    }

    /**
     * One token against `rows` weight rows. The rows are read as four streams of s = rows/4
     * consecutive rows each (pass j takes rows j, s+j, 2s+j, 3s+j): adjacent rows are adjacent
     * in memory, so every stream runs on through s rows instead of stopping after one. With
     * short rows (K = 2048: 4 KiB) that measured 1.25x faster from DRAM than four adjacent rows
     * per pass; rows that do not make up a multiple of 4 take a single dot each.
     */
    private static void rowsOfToken(DType dt, float[] x, int xo, MemorySegment w, long wo, long ws, int rows,
                                    int k0, int k1, MemorySegment o, long oo, boolean acc) {
        int s = rows / 4;
        for (int j = 0; j < s; j++) {
            long wr = wo + j * ws;
            long or = oo + 4L * j;
            long sws = s * ws;
            long socs = 4L * s;
            switch (dt) {
                case F32 -> MatmulKernels.f32Row1x4(x, xo, w, wr, sws, k0, k1, o, or, socs, acc);
                case BF16 -> MatmulKernels.bf16Row1x4(x, xo, w, wr, sws, k0, k1, o, or, socs, acc);
                case F16 -> MatmulKernels.f16Row1x4(x, xo, w, wr, sws, k0, k1, o, or, socs, acc);
                default -> throw new IllegalStateException(dt.toString());
            }
        }
        for (int r = 4 * s; r < rows; r++) {
            dot(dt, x, xo, w, wo + r * ws, k0, k1, o, oo + 4L * r, acc);
        }
    }

    private static void tile4x2(DType dt, float[] x, int xo, int xs, MemorySegment w, long wo, long ws,
                                int k0, int k1, MemorySegment o, long oo, long oss, boolean acc) {
        switch (dt) {
            case F32 -> MatmulKernels.f32Tile4x2(x, xo, xs, w, wo, ws, k0, k1, o, oo, oss, acc);
            case BF16 -> MatmulKernels.bf16Tile4x2(x, xo, xs, w, wo, ws, k0, k1, o, oo, oss, acc);
            case F16 -> MatmulKernels.f16Tile4x2(x, xo, xs, w, wo, ws, k0, k1, o, oo, oss, acc);
            default -> throw new IllegalStateException(dt.toString());
        }
    }

    private static void dot(DType dt, float[] x, int xo, MemorySegment w, long wo, int k0, int k1,
                            MemorySegment o, long oo, boolean acc) {
        switch (dt) {
            case F32 -> MatmulKernels.f32Dot(x, xo, w, wo, k0, k1, o, oo, acc);
            case BF16 -> MatmulKernels.bf16Dot(x, xo, w, wo, k0, k1, o, oo, acc);
            case F16 -> MatmulKernels.f16Dot(x, xo, w, wo, k0, k1, o, oo, acc);
            default -> throw new IllegalStateException(dt.toString());
        }
    }
}
