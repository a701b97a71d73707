package dev.jlight.cuda;

import dev.jlight.core.JLightException;
import dev.jlight.core.backend.Tensor;
import dev.jlight.core.weights.DType;

/**
 * Mixture of experts on the GPU (moe.cu): the router's top-k in one kernel, and the routed
 * experts as align → grouped gate/up GEMM (SiLU·up fused) → grouped down GEMM → per-token
 * weighted sum, all queued without a host round trip. Grids depend only on (T, k, E, H, I): the
 * number of 64-row tiles is bounded by {@code (T*k + E*63) / 64} for any routing, and tiles past
 * the routed rows exit at once, so a CUDA graph captured at one step replays at the next.
 *
 * <p>Workspace (one block of the backend's arena, grown and retired like the split-KV partials):
 * tile experts [maxTiles] and sorted rows [maxTiles*64] (I32), the SwiGLU activations
 * [maxTiles*64, I] (bf16), the per-slot expert outputs [S, T*k, H] (f32; S slices of the down
 * GEMM's K, {@link #downSlice}; summed per token in order so the result is deterministic).
 *
 * <p>Requires H and I multiples of 8 and 16-byte aligned rows of x and the expert weights (the
 * kernels' vector loads), at most {@value #MAX_EXPERTS} experts.
 */
final class CudaMoe {
    /** moe.cu's MOE_BM, MOE_MAX_EXPERTS and block sizes. */
    static final int TILE_ROWS = 64;
    static final int MAX_EXPERTS = 1024;
    private static final int GEMM_THREADS = 128;
    private static final int GATE_UP_COLS = 64;
    private static final int DOWN_COLS = 128;
    private static final int ALIGN_THREADS = 1024;
    private static final int TOPK_WARPS = 4;
    private static final int SUM_THREADS = 256;
    private static final long ALIGN = 256;
    /** The down GEMM's K (= I) is cut into at most this many slices of at least DOWN_SLICE_MIN. */
    private static final int DOWN_SLICES_MAX = 4;
    private static final int DOWN_SLICE_MIN = 2048;

    private final CudaBackend backend;
    private CudaTensor workspace;

    CudaMoe(CudaBackend backend) {
        this.backend = backend;
    }

    /** See {@link dev.jlight.core.backend.Backend#moeTopK}. */
    void topK(Tensor topIds, Tensor topWeights, Tensor routerLogits, int k, boolean renormalize) {
        CudaTensor ids = typed(topIds, "topIds", DType.I32);
        CudaTensor w = typed(topWeights, "topWeights", DType.F32);
        CudaTensor logits = cuda(routerLogits, "routerLogits");
        if (logits.dtype() != DType.BF16 && logits.dtype() != DType.F32) {
            throw new JLightException("moeTopK: routerLogits must be BF16 or F32, got " + logits);
        }
        long t = logits.rows(), e = logits.cols();
        if (k <= 0 || k > e) {
            throw new JLightException("moeTopK: k = " + k + " with " + e + " experts in routerLogits " + logits);
        }
        if (ids.rows() != t || ids.cols() != k || w.rows() != t || w.cols() != k) {
            throw new JLightException("moeTopK: topIds " + ids + " and topWeights " + w + " must be [" + t + ", " + k
                    + "] for routerLogits " + logits);
        }
        if (t == 0) {
            return;
        }
        requireInt("moeTopK", "tokens", t);
        requireInt("moeTopK", "experts", e);
        String kernel = logits.dtype() == DType.BF16 ? "moe_topk_bf16" : "moe_topk_f32";
        backend.launch(kernel, gridInt((t + TOPK_WARPS - 1) / TOPK_WARPS, "moeTopK tokens"), 1, 32 * TOPK_WARPS, 0,
                () -> "moeTopK(T=" + t + ",E=" + e + ",k=" + k + ")", ids.ptr(), w.ptr(), logits.ptr(), (int) t,
                (int) e, k, renormalize ? 1 : 0, logits.rowStride(), ids.rowStride(), w.rowStride());
    }

    /** See {@link dev.jlight.core.backend.Backend#moeExperts}. */
    void experts(Tensor out, Tensor x, Tensor gateUp, Tensor down, Tensor topIds, Tensor topWeights, int numExperts) {
        CudaTensor o = typed(out, "out", DType.BF16), xx = typed(x, "x", DType.BF16);
        CudaTensor gu = typed(gateUp, "gateUp", DType.BF16), dn = typed(down, "down", DType.BF16);
        CudaTensor ids = typed(topIds, "topIds", DType.I32), w = typed(topWeights, "topWeights", DType.F32);
        MoeShape s = MoeShape.of(o, xx, gu, dn, ids, w, numExperts);
        if (s.tokens() == 0) {
            return;
        }
        requireVectorRows("x", xx);
        requireVectorRows("gateUp", gu);
        requireVectorRows("down", dn);
        long maxTiles = s.maxTiles(TILE_ROWS);
        long paddedRows = maxTiles * TILE_ROWS;
        int kChunk = downSlice(s.inter());
        int slices = (int) ((s.inter() + kChunk - 1) / kChunk);
        long sliceStride = s.tokens() * s.topK() * s.hidden();
        long tileExpertOff = 0;
        long sortedRowOff = alignUp(tileExpertOff + 4 * maxTiles);
        long actOff = alignUp(sortedRowOff + 4 * paddedRows);
        long ysOff = alignUp(actOff + 2 * paddedRows * s.inter());
        long bytes = alignUp(ysOff + 4 * slices * sliceStride);
        workspace = backend.growWorkspace(workspace, bytes, "moeExperts workspace");
        long base = workspace.ptr();
        long tileExpert = base + tileExpertOff, sortedRow = base + sortedRowOff, act = base + actOff,
                ys = base + ysOff;
        int t = (int) s.tokens(), k = s.topK(), e = numExperts, h = (int) s.hidden(), inter = (int) s.inter();
        int tiles = gridInt(maxTiles, "moeExperts tiles");
        String what = s.toString();
        backend.launch("moe_align", 1, 1, ALIGN_THREADS, 0, () -> what + " align", tileExpert, sortedRow, ids.ptr(),
                t, k, e, tiles, ids.rowStride());
        backend.launch("moe_gate_up", tiles, gridY((inter + GATE_UP_COLS - 1) / GATE_UP_COLS, inter, "I"), GEMM_THREADS, 0,
                () -> what + " gate/up", act, xx.ptr(), gu.ptr(), tileExpert, sortedRow, k, h, inter,
                xx.rowStride(), gu.rowStride());
        backend.launch("moe_down", tiles, gridY(slices * ((h + DOWN_COLS - 1) / DOWN_COLS), h, "H"), GEMM_THREADS, 0,
                () -> what + " down, " + slices + " K slices", ys, act, dn.ptr(), tileExpert, sortedRow, h, inter,
                dn.rowStride(), kChunk, sliceStride);
        backend.launch("moe_sum_bf16", (h + 4 * SUM_THREADS - 1) / (4 * SUM_THREADS), Math.min(t, 65535),
                SUM_THREADS, 0, () -> what + " sum", o.ptr(), ys, ids.ptr(), w.ptr(), t, k, h, e, o.rowStride(),
                ids.rowStride(), w.rowStride(), slices, sliceStride);
    }

    /**
     * The K slice of the down GEMM: I alone decides it (never T, so a token's result does not
     * depend on the batch). Slices give a decode step enough blocks to stream the down weights:
     * with one slice Mixtral's down runs on 32 blocks per routed expert. A multiple of 32 (the
     * kernel's K stage), so only the last slice is short.
     */
    static int downSlice(long inter) {
        long slices = Math.min(DOWN_SLICES_MAX, Math.max(1, inter / DOWN_SLICE_MIN));
        long chunk = (inter + slices - 1) / slices;
        return (int) ((chunk + 31) / 32 * 32);
    }

    /** The checked shape of one moeExperts call. */
    record MoeShape(long tokens, int topK, int experts, long hidden, long inter) {
        static MoeShape of(CudaTensor out, CudaTensor x, CudaTensor gateUp, CudaTensor down, CudaTensor ids,
                           CudaTensor weights, int numExperts) {
            long t = x.rows(), h = x.cols();
            if (numExperts <= 0 || numExperts > MAX_EXPERTS) {
                throw new JLightException("moeExperts: numExperts = " + numExperts + " (1 to " + MAX_EXPERTS
                        + " supported)");
            }
            if (out.rows() != t || out.cols() != h) {
                throw new JLightException("moeExperts: out " + out + " must have the shape of x " + x);
            }
            long inter = down.cols();
            if (gateUp.rows() != 2L * numExperts * inter || gateUp.cols() != h || down.rows() != (long) numExperts * h) {
                throw new JLightException("moeExperts: gateUp " + gateUp + " and down " + down + " are not "
                        + numExperts + " experts' [2I, " + h + "] and [" + h + ", I] stacked");
            }
            long k = ids.cols();
            if (ids.rows() != t || weights.rows() != t || weights.cols() != k || k <= 0 || k > numExperts) {
                throw new JLightException("moeExperts: topIds " + ids + " and topWeights " + weights + " must be [" + t
                        + ", k] with 1 <= k <= " + numExperts);
            }
            if (h % 8 != 0 || inter % 8 != 0) {
                throw new JLightException("moeExperts: hidden size " + h + " and intermediate size " + inter
                        + " must be multiples of 8 (the CUDA kernels load 8 bf16 at a time)");
            }
            MoeShape s = new MoeShape(t, (int) k, numExperts, h, inter);
            requireInt("moeExperts", "T*k + E*" + (TILE_ROWS - 1), t * k + (long) numExperts * (TILE_ROWS - 1));
            requireInt("moeExperts", "hidden size", h);
            requireInt("moeExperts", "intermediate size", inter);
            return s;
        }

        /** Tiles for any routing: sum over experts of ceil(count / rows) <= (T*k + E*(rows-1)) / rows. */
        long maxTiles(int rows) {
            return (tokens * topK + (long) experts * (rows - 1)) / rows;
        }

        @Override
        public String toString() {
            return "moeExperts(T=" + tokens + ",E=" + experts + ",k=" + topK + ",H=" + hidden + ",I=" + inter + ")";
        }
    }

    private static void requireVectorRows(String what, CudaTensor t) {
        if (t.ptr() % 16 != 0 || (t.rows() > 1 && t.rowStride() % 8 != 0)) {
            throw new JLightException("moeExperts: " + what + " " + t + " needs 16-byte aligned rows (row stride "
                    + t.rowStride() + " must be a multiple of 8 elements)");
        }
    }

    private static int gridY(long blocks, long cols, String what) {
        if (blocks > 65535) {
            throw new JLightException("moeExperts: " + what + " = " + cols + " needs " + blocks
                    + " blocks in the grid's y, more than 65535");
        }
        return (int) blocks;
    }

    private static int gridInt(long blocks, String what) {
        requireInt("moe", what, blocks);
        return (int) blocks;
    }

    private static void requireInt(String op, String what, long v) {
        if (v > Integer.MAX_VALUE) {
            throw new JLightException(op + ": " + what + " = " + v + " does not fit the kernels' 32-bit indices");
        }
    }

    private static long alignUp(long v) {
        return (v + ALIGN - 1) / ALIGN * ALIGN;
    }

    private static CudaTensor cuda(Tensor t, String name) {
        if (t instanceof CudaTensor c) {
            return c;
        }
        throw new JLightException("moe: " + name + " " + (t == null ? "is null" : "is a " + t.getClass().getSimpleName()
                + ", not a cuda tensor"));
    }

    private static CudaTensor typed(Tensor t, String name, DType dtype) {
        CudaTensor c = cuda(t, name);
        if (c.dtype() != dtype) {
            throw new JLightException("moe: " + name + " must be " + dtype + " on the cuda backend, got " + c);
        }
        return c;
    }
}
