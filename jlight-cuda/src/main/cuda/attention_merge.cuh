// Pieces the paged attention kernels share (attention.cu, attention_split.cu,
// attention_decode.cu, attention_decode_tc.cu): each token's causal context length, the grouped
// query load, the warps' online-softmax state in shared memory, the merge of that state into an
// output or a split's partials, and the decode kernels' in-kernel merge of the splits.
// One copy, so the kernels keep one merge order (and one rounding) by construction.
//
// Shared-memory layout of the warps' state, for G query heads of one KV head:
//   sm [nwarps][G] maxima, then sl [nwarps][G] sums, then sacc [nwarps][G][headDim] accumulators
// (nwarps * G * (headDim + 2) floats). Scores are in log2 units (q pre-scaled by scale * log2 e).
// Split partials (f32, one buffer `part`): M [T, H, S], then L [T, H, S], then ACC [T, H, S, headDim];
// H = numKvHeads * G query heads, S = maxSplits.
#pragma once
#include "common.cuh"

// How many positions token t of the flat varlen batch attends to (causally, within its sequence
// s = tokenSeq[t]): the sequence's tokens before this step's query tokens, plus its query tokens
// up to and including t. Lengths come from device memory (a CUDA graph replays other lengths).
__device__ __forceinline__ int token_context(int t, int s, const int* queryStart, const int* seqLens) {
    const int qlen = queryStart[s + 1] - queryStart[s];
    return seqLens[s] - qlen + (t - queryStart[s]) + 1;
}

// Block (blockIdx.x = split * numKvHeads + kvh, blockIdx.y = t) of a split-KV kernel: token t of
// sequence s attends to positions [start, end) of its context, split `split` of nsplit. A block
// with split >= nsplit (the grid is sized for a context bound) has nothing to do and must return
// before any barrier.
struct SplitBlock {
    int kvh, split, t, s, nsplit, start, end;
};

__device__ __forceinline__ SplitBlock split_block(int numKvHeads, int splitSize, const int* tokenSeq,
                                                  const int* queryStart, const int* seqLens) {
    SplitBlock b;
    b.kvh = blockIdx.x % numKvHeads;
    b.split = blockIdx.x / numKvHeads;
    b.t = blockIdx.y;
    b.s = tokenSeq[b.t];
    const int ctx = token_context(b.t, b.s, queryStart, seqLens);
    b.nsplit = (ctx + splitSize - 1) / splitSize;
    b.start = b.split * splitSize;
    b.end = min(ctx, b.start + splitSize);
    return b;
}

// The decode kernels' (attention_decode.cu, attention_decode_tc.cu) parameters and the call that
// passes them on to their device functions: one argument list (the kernels add prefetchRows, for
// prefetch_split_kv), so the host launches either kernel the same way.
#define DECODE_KERNEL_PARAMS                                                                                  \
    bf16* out, float* part, int* counters, const bf16* q, const bf16* kPool, const bf16* vPool,              \
        const int* queryStart, const int* seqLens, const int* blockTables, const int* tokenSeq, int numKvHeads, \
        int blockSize, int maxBlocks, float scale, long long ldo, long long ldq, int splitSize, int maxSplits,  \
        int numTokens
#define DECODE_KERNEL_ARGS                                                                                    \
    out, part, counters, q, kPool, vPool, queryStart, seqLens, blockTables, tokenSeq, numKvHeads, blockSize,  \
        maxBlocks, scale, ldo, ldq, splitSize, maxSplits, numTokens

// Before pdl_entry(): pulls the first `rows` K and V rows of this block's split (KV head kvh, D
// dims each) into L2, so that under programmatic launch the loads of a decode step's attention
// start while the kernel before it (rope + K/V write) still runs. It reads only the step's
// metadata, which the host uploaded before the step's first kernel; the rows themselves may be
// written meanwhile (the current token's), which is harmless: L2 is where those writes land. At
// batch 1 the split is the whole job (attention there is latency-bound, not bandwidth-bound);
// at large batch `rows` caps what the first wave of blocks pulls in ahead of use.
__device__ __forceinline__ void prefetch_split_kv(const bf16* kPool, const bf16* vPool, const int* queryStart,
                                                  const int* seqLens, const int* blockTables, const int* tokenSeq,
                                                  int numKvHeads, int blockSize, int maxBlocks, int splitSize,
                                                  int headDim, int rows) {
    const SplitBlock b = split_block(numKvHeads, splitSize, tokenSeq, queryStart, seqLens);
    const int end = min(b.end, b.start + rows);  // empty for a block past its token's splits
    const int* table = blockTables + (long long) b.s * maxBlocks;
    const long long kvDim = (long long) numKvHeads * headDim;
    for (int i = threadIdx.x; i < 2 * (end - b.start); i += blockDim.x) {
        const int p = b.start + (i >> 1);
        const long long row = (long long) table[p / blockSize] * blockSize + p % blockSize;
        l2_prefetch(((i & 1) ? vPool : kPool) + row * kvDim + (long long) b.kvh * headDim, 2 * headDim);
    }
}

// Loads the G query heads that start at qHeads (headDim apart) pre-scaled by qscale, lane l
// holding dimension pairs l, l + 32, ... (P of them; pairs past headDim / 2 are zero), and starts
// each head's online softmax empty (m = -inf, l = 0, acc = 0).
template <int G, int P>
__device__ __forceinline__ void load_q_group(float2 (&qv)[G][P], float2 (&acc)[G][P], float (&m)[G], float (&l)[G],
                                             const bf16* qHeads, int headDim, int lane, float qscale) {
    const int pairs = headDim / 2;
#pragma unroll
    for (int g = 0; g < G; g++) {
        const bf162* q2 = reinterpret_cast<const bf162*>(qHeads + (long long) g * headDim);
#pragma unroll
        for (int i = 0; i < P; i++) {
            int j = lane + 32 * i;
            float2 f = j < pairs ? __bfloat1622float2(q2[j]) : make_float2(0.f, 0.f);
            qv[g][i] = make_float2(f.x * qscale, f.y * qscale);
            acc[g][i] = make_float2(0.f, 0.f);
        }
        m[g] = -INFINITY;
        l[g] = 0.f;
    }
}

// Writes warp `warp`'s state (lane l's dimension pairs l, l + 32, ...) into the layout above. The
// caller synchronizes the block before reading it back.
template <int G, int P>
__device__ __forceinline__ void stash_warp_state(float* smem, int nwarps, int warp, int lane, int headDim,
                                                 const float (&m)[G], const float (&l)[G],
                                                 const float2 (&acc)[G][P]) {
    const int pairs = headDim / 2;
    float* sm = smem;
    float* sl = smem + nwarps * G;
    float* sacc = smem + 2 * nwarps * G;
#pragma unroll
    for (int g = 0; g < G; g++) {
        if (lane == 0) {
            sm[warp * G + g] = m[g];
            sl[warp * G + g] = l[g];
        }
#pragma unroll
        for (int i = 0; i < P; i++) {
            int j = lane + 32 * i;
            if (j < pairs) {
                sacc[(warp * G + g) * headDim + 2 * j] = acc[g][i].x;
                sacc[(warp * G + g) * headDim + 2 * j + 1] = acc[g][i].y;
            }
        }
    }
}

// After the block's warps left their state in shared memory (the layout above), merges it and
// writes token t's G heads of KV head kvh: the output when the context is one split
// (nsplit == 1; part, split, maxSplits and numTokens are then unused), else this split's partials.
template <int G>
__device__ void store_split_result(bf16* out, float* part, const float* smem, int nwarps, int headDim, int kvh,
                                   int t, int split, int nsplit, int numKvHeads, int maxSplits, int numTokens,
                                   long long ldo) {
    const float* sm = smem;
    const float* sl = smem + nwarps * G;
    const float* sacc = smem + 2 * nwarps * G;
    const int numHeads = numKvHeads * G;
    const long long th = (long long) numTokens * numHeads * maxSplits;
    for (int idx = threadIdx.x; idx < G * headDim; idx += blockDim.x) {
        int g = idx / headDim, d = idx % headDim;
        float M = -INFINITY;
        for (int w = 0; w < nwarps; w++) M = fmaxf(M, sm[w * G + g]);
        float L = 0.f, a = 0.f;
        for (int w = 0; w < nwarps; w++) {
            float f = exp2f(sm[w * G + g] - M);  // warps that saw no position: exp2(-inf) = 0
            L += sl[w * G + g] * f;
            a += sacc[(w * G + g) * headDim + d] * f;
        }
        int h = kvh * G + g;
        if (nsplit == 1) {
            store(out + t * ldo + (long long) h * headDim + d, a / L);
        } else {
            long long pi = ((long long) t * numHeads + h) * maxSplits + split;
            part[2 * th + pi * headDim + d] = a;
            if (d == 0) {
                part[pi] = M;
                part[th + pi] = L;
            }
        }
    }
}

// Split-KV decode kernels (attention_decode.cu, attention_decode_tc.cu), after
// store_split_result: the last split block of token t's KV head kvh to finish merges every
// split's partials into the output; the others return. counters [T, numKvHeads] are zero before
// the launch and zero again after it (the last block resets its own). Nothing to do when the
// context was one split. Every thread of the block calls it (it has barriers).
template <int G>
__device__ void merge_splits_if_last(bf16* out, const float* part, int* counters, int headDim, int kvh, int t,
                                     int nsplit, int numKvHeads, int maxSplits, int numTokens, long long ldo) {
    JLIGHT_BLOCK_SHARED int split_last;
    if (nsplit == 1) return;
    __threadfence();  // this block's partials, before its count
    __syncthreads();
    if (threadIdx.x == 0) {
        int* counter = counters + (long long) t * numKvHeads + kvh;
        int last = atomicAdd(counter, 1) == nsplit - 1;
        if (last) *counter = 0;  // every split has counted: ready for the next launch
        split_last = last;
    }
    __syncthreads();
    if (!split_last) return;
    __threadfence();
    const int numHeads = numKvHeads * G;
    const long long th = (long long) numTokens * numHeads * maxSplits;
    for (int idx = threadIdx.x; idx < G * headDim; idx += blockDim.x) {
        int g = idx / headDim, d = idx % headDim;
        long long pi = ((long long) t * numHeads + kvh * G + g) * maxSplits;
        float M = -INFINITY;
        for (int i = 0; i < nsplit; i++) M = fmaxf(M, __ldcg(part + pi + i));
        float L = 0.f, a = 0.f;
        for (int i = 0; i < nsplit; i++) {
            float f = exp2f(__ldcg(part + pi + i) - M);
            L += __ldcg(part + th + pi + i) * f;
            a += __ldcg(part + 2 * th + (pi + i) * headDim + d) * f;
        }
        store(out + t * ldo + (long long) (kvh * G + g) * headDim + d, a / L);
    }
}

// The end of a split-KV decode block (attention_decode.cu, attention_decode_tc.cu) once each warp
// has written its state into smem (the layout above; the barrier is here): the output or this
// split's partials, then the last split's merge.
template <int G>
__device__ void finish_decode_block(bf16* out, float* part, int* counters, const float* smem, int nwarps,
                                    int headDim, int kvh, int t, int split, int nsplit, int numKvHeads,
                                    int maxSplits, int numTokens, long long ldo) {
    __syncthreads();
    store_split_result<G>(out, part, smem, nwarps, headDim, kvh, t, split, nsplit, numKvHeads, maxSplits, numTokens,
                          ldo);
    merge_splits_if_last<G>(out, part, counters, headDim, kvh, t, nsplit, numKvHeads, maxSplits, numTokens, ldo);
}
