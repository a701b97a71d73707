package dev.jlight.core.backend;

import dev.jlight.core.weights.DType;
import dev.jlight.core.weights.WeightTensor;
import java.lang.foreign.MemorySegment;

/**
 * The op set every backend implements (CPU with the Vector API, CUDA with kernels). Models are
 * written once against it. Conventions, as llm.c's launchers: outputs first, then inputs, then
 * parameters. Activations are F32 on the CPU (BF16 on a GPU backend); weights stay in the dtype
 * they are stored in. Shapes are in the comments as [rows, cols]; T is the number of tokens of
 * the step. Every op works on strided 2-D views (see {@link Tensor#rowStride()}) unless it says
 * otherwise.
 */
public interface Backend extends AutoCloseable {

    /** Short name for logs: "cpu", "cuda". */
    String name();

    /** The dtype this backend computes activations in. */
    DType activationDType();

    // ---- memory -------------------------------------------------------------------------------

    /**
     * Makes a weight usable by the ops. The CPU backend wraps the mapped file's segment without
     * copying; a GPU backend uploads it into its arena.
     */
    Tensor weight(WeightTensor w);

    /**
     * Rows of several weights stacked as one [sum(rows), cols] weight (fused QKV, fused gate/up),
     * so one matmul computes all of them. All parts have the same cols and dtype. A backend may
     * copy (GPU) or keep the parts and walk them (CPU, weights stay mapped).
     */
    Tensor concatRows(Tensor... parts);

    /** A new dense tensor, contents undefined. */
    Tensor allocate(DType dtype, long... shape);

    /** A view of rows [from, to) of a 2-D tensor. No copy. */
    Tensor sliceRows(Tensor t, long from, long to);

    /** A view of columns [from, to) of a 2-D tensor (keeps the row stride). No copy. */
    Tensor sliceCols(Tensor t, long from, long to);

    /** Copies host memory (dense, the tensor's dtype) into a contiguous tensor. */
    void upload(Tensor dst, MemorySegment src);

    /** Copies a tensor (any rows/stride) to dense host memory in its dtype. */
    void download(Tensor src, MemorySegment dst);

    /**
     * Whether {@link #downloadIntsAsync} returns before its copy is done, with the backend's
     * queued work still running (a GPU stream), so a caller can prepare and queue the next step
     * meanwhile. False for a backend that computes when asked (CPU).
     */
    default boolean downloadsAsync() {
        return false;
    }

    /**
     * Starts a copy of an I32 tensor (contiguous) to the host behind all work queued so far and
     * returns at once where {@link #downloadsAsync()}; the default downloads now. Later ops,
     * downloads and syncs do not disturb the values on their way.
     */
    default PendingInts downloadIntsAsync(Tensor src) {
        int[] out = new int[Math.toIntExact(src.numel())];
        download(src, MemorySegment.ofArray(out));
        return PendingInts.done(out);
    }

    /** Allocates the paged K/V pools. */
    KvCache allocateKvCache(KvCacheSpec spec);

    // ---- ops ----------------------------------------------------------------------------------

    /** out[t] = table[ids[t]] (converted to the activation dtype). out [T,H], table [V,H], ids I32 [T]. */
    void embedding(Tensor out, Tensor table, Tensor ids);

    /** out = x / sqrt(mean(x²) + eps) * weight, per row. out, x [T,H]; weight [H]. */
    void rmsNorm(Tensor out, Tensor x, Tensor weight, float eps);

    /**
     * Fused residual add and norm: residual += x; out = rmsNorm(residual). residual, x, out [T,H].
     * Saves one pass over the activations per sub-layer.
     */
    void addRmsNorm(Tensor out, Tensor residual, Tensor x, Tensor weight, float eps);

    /** out = x · wᵀ. out [T,N], x [T,K], w [N,K] (HF's Linear layout). */
    void matmul(Tensor out, Tensor x, Tensor w);

    /** x[t] += bias for every row. x [T,N], bias [N]. */
    void addBias(Tensor x, Tensor bias);

    /** x += y elementwise. x, y [T,N]. */
    void add(Tensor x, Tensor y);

    /** x *= s elementwise. */
    void scale(Tensor x, float s);

    /**
     * Rotary embedding in place on q [T, numHeads*headDim] and k [T, numKvHeads*headDim], token t
     * at positions[t] (I32 [T]). NeoX pairing (i, i + rotaryDim/2) within each head; dimensions
     * past rotaryDim are left alone.
     */
    void rope(Tensor q, Tensor k, Tensor positions, RopeSpec rope, int numHeads, int numKvHeads);

    /** out = silu(gateUp[:, :I]) * gateUp[:, I:]. out [T,I], gateUp [T,2I] (fused gate/up output). */
    void siluMul(Tensor out, Tensor gateUp);

    /**
     * The SwiGLU MLP's first half: out [T, I] = silu(x·gateᵀ) * (x·upᵀ) for the fused weight
     * gateUp [2I, H] (gate rows, then up rows), the same as {@code matmul(gu, x, gateUp);
     * siluMul(out, gu)}, which is what this default does with the scratch gu [T, 2I]. A backend
     * may do it in one kernel without touching gu (CUDA at decode batch sizes).
     */
    default void matmulSiluMul(Tensor out, Tensor gu, Tensor x, Tensor gateUp) {
        matmul(gu, x, gateUp);
        siluMul(out, gu);
    }

    // ---- the residual stream folded into the matmuls around it ---------------------------------
    // A pre-norm decoder layer reads the residual stream only through an RMSNorm that feeds a matmul
    // (qkv, gate/up) and writes it only by adding a matmul's output (o_proj, down_proj). These ops
    // say so, so that a backend may do the norm in the matmul's prologue and the add in its
    // epilogue (CUDA at decode batch sizes: 65 fewer launches per Llama-3-8B step). Each takes the
    // scratch its unfused composition needs (as matmulSiluMul's gu), so no op allocates; a fused
    // backend leaves the scratch's contents undefined. Results equal the compositions below.

    /**
     * residual += x · wᵀ, the product rounded to the activation dtype before the add (as matmul
     * into delta, then add). residual, delta [T,N], x [T,K], w [N,K].
     */
    default void matmulAddResidual(Tensor residual, Tensor delta, Tensor x, Tensor w) {
        matmul(delta, x, w);
        add(residual, delta);
    }

    /**
     * out = rmsNorm(residual) · wᵀ: {@code rmsNorm(normed, residual, normWeight, eps); matmul(out,
     * normed, w)}. out [T,N], normed and residual [T,H], normWeight [H], w [N,H]. residual is only read.
     */
    default void rmsNormMatmul(Tensor out, Tensor normed, Tensor residual, Tensor normWeight, float eps, Tensor w) {
        rmsNorm(normed, residual, normWeight, eps);
        matmul(out, normed, w);
    }

    /**
     * {@link #matmulSiluMul} of rmsNorm(residual): {@code rmsNorm(normed, residual, normWeight, eps);
     * matmulSiluMul(out, gu, normed, gateUp)}. out [T,I], gu [T,2I], normed and residual [T,H],
     * normWeight [H], gateUp [2I,H]. residual is only read.
     */
    default void rmsNormMatmulSiluMul(Tensor out, Tensor gu, Tensor normed, Tensor residual, Tensor normWeight,
                                      float eps, Tensor gateUp) {
        rmsNorm(normed, residual, normWeight, eps);
        matmulSiluMul(out, gu, normed, gateUp);
    }

    /**
     * Writes each token's K and V ([T, numKvHeads*headDim]) into the layer's pools at
     * {@code meta.slotMapping()}; slot -1 skips the token.
     */
    void writeKv(KvCache cache, int layer, Tensor k, Tensor v, AttentionMetadata meta);

    /**
     * {@link #rope} on q and k, then {@link #writeKv} of the rotated k and v: what a decoder layer
     * does before attention. Backends may fuse the two (one pass over k, one launch); the result
     * (q, k rotated in place, the cache rows) is the same.
     */
    default void ropeAndWriteKv(Tensor q, Tensor k, Tensor v, Tensor positions, RopeSpec rope, int numHeads,
                                int numKvHeads, KvCache cache, int layer, AttentionMetadata meta) {
        rope(q, k, positions, rope, numHeads, numKvHeads);
        writeKv(cache, layer, k, v, meta);
    }

    /**
     * Causal paged attention for the whole flat batch (prefill chunks over a cached prefix and
     * decode tokens together): out [T, numHeads*headDim], q [T, numHeads*headDim]. K/V come from
     * the layer's pools through the block tables, so {@link #writeKv} must run first. Query head h
     * reads KV head h / (numHeads / numKvHeads) (GQA). Softmax in f32 with the given scale.
     */
    void attention(Tensor out, Tensor q, KvCache cache, int layer, AttentionMetadata meta, int numHeads,
                   float scale);

    /** out[i] = x[rows[i]]. out [R,H], x [T,H], rows I32 [R]. Picks the rows that need logits. */
    void gatherRows(Tensor out, Tensor x, Tensor rows);

    /**
     * Token ids that the host does not know yet (the previous step's picks, still on the backend):
     * {@code ids[t] = previous[previousRows[t]]} where {@code previousRows[t] >= 0}; ids[t] is left
     * alone where it is -1. ids, previousRows I32 [T] (any [T, 1] views); previous I32 [P]. Runs
     * before the embedding gather of a step the engine launched before awaiting the one before
     * (see {@code ForwardBatch.previousRows}). A row outside previous is an error (CPU) or makes
     * the id -1, which the embedding gather turns into NaN activations (GPU: no host check).
     */
    void takePreviousIds(Tensor ids, Tensor previous, Tensor previousRows);

    /** Whether {@link #sample} is implemented. */
    default boolean supportsSampling() {
        return false;
    }

    /**
     * Picks one token per row of logits by the rules of {@code dev.jlight.core.model.DeviceSampling}
     * (greedy argmax or temperature, min_p, top_k, top_p and the row's uniform).
     * ids I32 [R] (any [R, 1] view), logits F32 [R, V], params I32 [R, 2 * FIELDS] holding
     * {@code DeviceSampling.packed()}'s doubles (little-endian), uploaded like any step input.
     */
    default void sample(Tensor ids, Tensor logits, Tensor params) {
        throw new UnsupportedOperationException("the " + name() + " backend does not sample");
    }

    // ---- mixture of experts (Mixtral; reused by DeepSeek) --------------------------------------

    /**
     * MoE router: per token, the k experts with the largest softmax(routerLogits) probabilities,
     * in descending order (ties: the lower expert id first, as torch.topk), and their weights: the
     * probabilities, renormalised to sum to 1 over the k when {@code renormalize} (Mixtral).
     * topIds I32 [T,k], topWeights F32 [T,k], routerLogits [T,E] (softmax in f32).
     */
    default void moeTopK(Tensor topIds, Tensor topWeights, Tensor routerLogits, int k, boolean renormalize) {
        throw new UnsupportedOperationException("the " + name() + " backend has no mixture-of-experts router");
    }

    /**
     * The routed experts' SwiGLU MLPs, weighted and summed per token:
     * out[t] = sum_j topWeights[t,j] * down_e(silu(gate_e x[t]) * up_e x[t]), e = topIds[t,j].
     * out, x [T,H]. gateUp [E*2I, H]: expert e's gate rows at [e*2I, e*2I+I) and its up rows at
     * [e*2I+I, (e+1)*2I) (stacked with {@link #concatRows}); down [E*H, I]: expert e's down_proj
     * at rows [e*H, (e+1)*H). Backends run it as grouped GEMMs over the tokens routed to each
     * expert, not as per-token GEMVs, and without a host round trip (CUDA graphs capture it).
     */
    default void moeExperts(Tensor out, Tensor x, Tensor gateUp, Tensor down, Tensor topIds, Tensor topWeights,
                            int numExperts) {
        throw new UnsupportedOperationException("the " + name() + " backend has no mixture-of-experts experts op");
    }

    /** Waits for queued work (a no-op for a synchronous backend). */
    default void synchronize() {
    }

    @Override
    void close();
}
