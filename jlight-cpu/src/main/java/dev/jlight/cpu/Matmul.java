package dev.jlight.cpu;

import dev.jlight.core.weights.DType;
import java.lang.foreign.MemorySegment;

/**
 * out [T,N] = x [T,K] · wᵀ, w [N,K] in F32/BF16/F16 read in place.
 *
 * <p>Work is split over the weight's rows (output columns) in chunks of {@link #rowsPerChunk}
 * rows, claimed dynamically by the pool's threads; each chunk lives in one part of a
 * concatenated weight. Inside a chunk:
 * <ul>
 *   <li>T = 1 (decode GEMV, memory-bound): four weight rows per pass share each load of x; every
 *       weight byte is read exactly once.</li>
 *   <li>T > 1: K is cut into blocks of {@link #KC}; for each block, tiles of 4 tokens × 2 rows
 *       keep 8 accumulators in registers, so each widened weight vector feeds 4 tokens and the
 *       chunk's weight block stays in L1/L2 while all token groups pass over it. Leftover tokens
 *       use the 1×4 kernel, leftover rows a single dot.</li>
 * </ul>
 */
final class Matmul {
    /** K block of the batched path: 512 f32 of x per token, 4 tokens = 8 KiB; 64 rows of bf16 = 64 KiB. */
    static final int KC = 512;
    /** Below this many multiply-adds the op runs on the calling thread alone. */
    static final long SMALL_WORK = 1L << 16;

    private Matmul() {
    }

    static void run(WorkerPool pool, CpuTensor out, CpuTensor x, CpuTensor w) {
        int t = (int) x.rows();
        int k = (int) x.cols();
        long n = w.rows();
        if (t == 0 || n == 0) {
            return;
        }
        CpuTensor[] parts = w.isConcat() ? w.partsUnsafe() : new CpuTensor[] {w};
        int rb = rowsPerChunk(n, pool.threads());
        int[] chunkPart;
        long[] chunkRow;
        long[] partBase = new long[parts.length];
        int chunks = 0;
        for (int p = 0; p < parts.length; p++) {
            chunks += (int) ((parts[p].rows() + rb - 1) / rb);
        }
        chunkPart = new int[chunks];
        chunkRow = new long[chunks];
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
        MemorySegment xs = x.segment();
        MemorySegment os = out.segment();
        long xStride = x.rowStride() * 4;
        long oStride = out.rowStride() * 4;
        long work = (long) t * n * k;
        pool.run(chunks, work < SMALL_WORK ? chunks : 1, (from, to) -> {
            for (int ci = from; ci < to; ci++) {
                CpuTensor part = parts[chunkPart[ci]];
                long r0 = chunkRow[ci];
                long r1 = Math.min(part.rows(), r0 + rb);
                long col0 = partBase[chunkPart[ci]] + r0;
                chunk(part.dtype(), xs, xStride, t, k, part.segment(), part.rowStride() * part.dtype().bytes(),
                        r0, (int) (r1 - r0), os, col0 * 4, oStride);
            }
        });
    }

    /** Multiple of 4 in [4, 64], small enough to give each thread ~8 chunks for balance. */
    static int rowsPerChunk(long n, int threads) {
        long target = n / (8L * threads);
        return (int) Math.max(4, Math.min(64, target) & ~3L);
    }

    /**
     * Rows [r0, r0+rows) of one weight part, all tokens. ws: weight row stride in bytes; oo: byte
     * offset of out[0, first column]; xss/oss: x and out row strides in bytes.
     */
    private static void chunk(DType dt, MemorySegment x, long xss, int t, int k, MemorySegment w, long ws,
                              long r0, int rows, MemorySegment o, long oo, long oss) {
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
                long xo = tt * xss;
                long ot = oo + tt * oss;
                int r = 0;
                for (; r + 2 <= rows; r += 2) {
                    tile4x2(dt, x, xo, xss, w, wo + r * ws, ws, k0, k1, o, ot + 4L * r, oss, acc);
                }
                for (; r < rows; r++) {
                    for (int i = 0; i < 4; i++) {
                        dot(dt, x, xo + i * xss, w, wo + r * ws, k0, k1, o, ot + i * oss + 4L * r, acc);
                    }
                }
            }
            for (; tt < t; tt++) {
                rowsOfToken(dt, x, tt * xss, w, wo, ws, rows, k0, k1, o, oo + tt * oss, acc);
            }
        }
    }

    /** One token against `rows` weight rows: 4 rows per pass, then single rows. */
    private static void rowsOfToken(DType dt, MemorySegment x, long xo, MemorySegment w, long wo, long ws, int rows,
                                    int k0, int k1, MemorySegment o, long oo, boolean acc) {
        int r = 0;
        for (; r + 4 <= rows; r += 4) {
            long wr = wo + r * ws;
            long or = oo + 4L * r;
            switch (dt) {
                case F32 -> MatmulKernels.f32Row1x4(x, xo, w, wr, ws, k0, k1, o, or, acc);
                case BF16 -> MatmulKernels.bf16Row1x4(x, xo, w, wr, ws, k0, k1, o, or, acc);
                case F16 -> MatmulKernels.f16Row1x4(x, xo, w, wr, ws, k0, k1, o, or, acc);
                default -> throw new IllegalStateException(dt.toString());
            }
        }
        for (; r < rows; r++) {
            dot(dt, x, xo, w, wo + r * ws, k0, k1, o, oo + 4L * r, acc);
        }
    }

    private static void tile4x2(DType dt, MemorySegment x, long xo, long xss, MemorySegment w, long wo, long ws,
                                int k0, int k1, MemorySegment o, long oo, long oss, boolean acc) {
        switch (dt) {
            case F32 -> MatmulKernels.f32Tile4x2(x, xo, xss, w, wo, ws, k0, k1, o, oo, oss, acc);
            case BF16 -> MatmulKernels.bf16Tile4x2(x, xo, xss, w, wo, ws, k0, k1, o, oo, oss, acc);
            case F16 -> MatmulKernels.f16Tile4x2(x, xo, xss, w, wo, ws, k0, k1, o, oo, oss, acc);
            default -> throw new IllegalStateException(dt.toString());
        }
    }

    private static void dot(DType dt, MemorySegment x, long xo, MemorySegment w, long wo, int k0, int k1,
                            MemorySegment o, long oo, boolean acc) {
        switch (dt) {
            case F32 -> MatmulKernels.f32Dot(x, xo, w, wo, k0, k1, o, oo, acc);
            case BF16 -> MatmulKernels.bf16Dot(x, xo, w, wo, k0, k1, o, oo, acc);
            case F16 -> MatmulKernels.f16Dot(x, xo, w, wo, k0, k1, o, oo, acc);
            default -> throw new IllegalStateException(dt.toString());
        }
    }
}
