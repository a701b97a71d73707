// Split-KV ("flash-decoding") paged attention, the query heads of one KV head together (GQA
// groups of 1..8), for the same flat varlen batch and layouts as attention.cu.
//
// One block per (KV head, split of the context, token): the block's warps walk the split's
// positions U at a time (all U rows' K/V loads issued before the math, so each warp keeps U
// rows in flight instead of one), keeping G online softmaxes; the warps merge through shared
// memory. A token whose context fits one split (ctx <= splitSize) writes its output directly;
// otherwise each split writes its unnormalized partial (max, sum, acc) and
// attention_combine_bf16 merges them. Blocks of splits past a token's context return at once,
// so the grid may be sized for a context bound (a CUDA graph's) rather than the step's lengths:
// lengths are read from device memory only.
//
// Partials (f32): M [T, H, S], L [T, H, S], ACC [T, H, S, headDim], one buffer `part` laid out
// M, then L, then ACC; H = numKvHeads * G query heads, S = maxSplits.
// Kernels paged_attention_split_g{G}_p{P}_bf16: P dimension pairs per lane (headDim <= 64 P).
// grid (numKvHeads * maxSplits, T), block 32 * nwarps, dynamic smem nwarps * G * (headDim + 2) floats.
#include "attention_merge.cuh"  // split_block, load_q_group, stash_warp_state, store_split_result

template <int G, int P, int U>
__device__ void split_attention(bf16* out, float* part, const bf16* q, const bf16* kPool, const bf16* vPool,
                                const int* queryStart, const int* seqLens, const int* blockTables,
                                const int* tokenSeq, int numKvHeads, int headDim, int blockSize, int maxBlocks,
                                float scale, long long ldo, long long ldq, int splitSize, int maxSplits,
                                int numTokens) {
    extern __shared__ float split_smem[];
    const SplitBlock sb = split_block(numKvHeads, splitSize, tokenSeq, queryStart, seqLens);
    if (sb.split >= sb.nsplit) return;  // the whole block: before any barrier
    const int kvh = sb.kvh, split = sb.split, t = sb.t, s = sb.s, nsplit = sb.nsplit, start = sb.start, end = sb.end;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    const int kvDim = numKvHeads * headDim;
    const int pairs = headDim / 2;
    const int* table = blockTables + (long long) s * maxBlocks;
    const float qscale = scale * 1.4426950408889634f;  // scores in log2 units

    float2 qv[G][P];
    float2 acc[G][P];
    float m[G], l[G];
    load_q_group<G, P>(qv, acc, m, l, q + t * ldq + (long long) kvh * G * headDim, headDim, lane, qscale);
    const bf162 zero2 = __floats2bfloat162_rn(0.f, 0.f);
    for (int base = start + warp * U; base < end; base += nwarps * U) {
        bf162 kr[U][P], vr[U][P];
#pragma unroll
        for (int u = 0; u < U; u++) {
            int p = base + u;
            if (p < end) {
                long long row = (long long) table[p / blockSize] * blockSize + (p % blockSize);
                const bf162* k2 = reinterpret_cast<const bf162*>(kPool + row * kvDim + (long long) kvh * headDim);
                const bf162* v2 = reinterpret_cast<const bf162*>(vPool + row * kvDim + (long long) kvh * headDim);
#pragma unroll
                for (int i = 0; i < P; i++) {
                    int j = lane + 32 * i;
                    kr[u][i] = j < pairs ? k2[j] : zero2;
                    vr[u][i] = j < pairs ? v2[j] : zero2;
                }
            } else {
#pragma unroll
                for (int i = 0; i < P; i++) {
                    kr[u][i] = zero2;
                    vr[u][i] = zero2;
                }
            }
        }
#pragma unroll
        for (int g = 0; g < G; g++) {
            float d[U];
#pragma unroll
            for (int u = 0; u < U; u++) {
                float dot = 0.f;
#pragma unroll
                for (int i = 0; i < P; i++) {
                    float2 kf = __bfloat1622float2(kr[u][i]);
                    dot += qv[g][i].x * kf.x + qv[g][i].y * kf.y;
                }
                d[u] = warp_sum(dot);
            }
            float mx = m[g];
#pragma unroll
            for (int u = 0; u < U; u++) {
                if (base + u >= end) d[u] = -INFINITY;
                mx = fmaxf(mx, d[u]);
            }
            // base < end, so d[0] is finite and so is mx
            float corr = exp2f(m[g] - mx);
            l[g] *= corr;
#pragma unroll
            for (int i = 0; i < P; i++) {
                acc[g][i].x *= corr;
                acc[g][i].y *= corr;
            }
#pragma unroll
            for (int u = 0; u < U; u++) {
                float w = exp2f(d[u] - mx);
                l[g] += w;
#pragma unroll
                for (int i = 0; i < P; i++) {
                    float2 vf = __bfloat1622float2(vr[u][i]);
                    acc[g][i].x += w * vf.x;
                    acc[g][i].y += w * vf.y;
                }
            }
            m[g] = mx;
        }
    }
    // merge the warps (attention_merge.cuh)
    stash_warp_state<G, P>(split_smem, nwarps, warp, lane, headDim, m, l, acc);
    __syncthreads();
    store_split_result<G>(out, part, split_smem, nwarps, headDim, kvh, t, split, nsplit, numKvHeads, maxSplits,
                          numTokens, ldo);
}

#define SPLIT_ATTENTION(G, P, U)                                                                              \
    extern "C" __global__ void __launch_bounds__(128) paged_attention_split_g##G##_p##P##_bf16(              \
        bf16* out, float* part, const bf16* q, const bf16* kPool, const bf16* vPool, const int* queryStart,  \
        const int* seqLens, const int* blockTables, const int* tokenSeq, int numKvHeads, int headDim,        \
        int blockSize, int maxBlocks, float scale, long long ldo, long long ldq, int splitSize, int maxSplits, \
        int numTokens) {                                                                                     \
        split_attention<G, P, U>(out, part, q, kPool, vPool, queryStart, seqLens, blockTables, tokenSeq,      \
                                 numKvHeads, headDim, blockSize, maxBlocks, scale, ldo, ldq, splitSize,      \
                                 maxSplits, numTokens);                                                      \
    }
#define SPLIT_ATTENTION_G(G) SPLIT_ATTENTION(G, 1, 8) SPLIT_ATTENTION(G, 2, 8) SPLIT_ATTENTION(G, 4, 4)
SPLIT_ATTENTION_G(1)
SPLIT_ATTENTION_G(2)
SPLIT_ATTENTION_G(3)
SPLIT_ATTENTION_G(4)
SPLIT_ATTENTION_G(5)
SPLIT_ATTENTION_G(6)
SPLIT_ATTENTION_G(7)
SPLIT_ATTENTION_G(8)

// Merges the split partials of tokens whose context spans more than one split (the others were
// written by the split kernel). grid (numHeads, T), block 128.
extern "C" __global__ void attention_combine_bf16(bf16* out, const float* part, const int* queryStart,
                                                  const int* seqLens, const int* tokenSeq, int numHeads,
                                                  int headDim, int splitSize, int maxSplits, int numTokens,
                                                  long long ldo) {
    const int h = blockIdx.x;
    const int t = blockIdx.y;
    const int s = tokenSeq[t];
    const int ctx = token_context(t, s, queryStart, seqLens);
    const int nsplit = (ctx + splitSize - 1) / splitSize;
    if (nsplit <= 1) return;
    const long long th = (long long) numTokens * numHeads * maxSplits;
    const long long pi = ((long long) t * numHeads + h) * maxSplits;
    const float* pm = part + pi;
    const float* pl = part + th + pi;
    const float* pa = part + 2 * th + pi * headDim;
    float M = -INFINITY;
    for (int i = 0; i < nsplit; i++) M = fmaxf(M, pm[i]);
    float L = 0.f;
    for (int i = 0; i < nsplit; i++) L += pl[i] * exp2f(pm[i] - M);
    float invL = 1.0f / L;
    for (int d = threadIdx.x; d < headDim; d += blockDim.x) {
        float a = 0.f;
        for (int i = 0; i < nsplit; i++) a += pa[(long long) i * headDim + d] * exp2f(pm[i] - M);
        store(out + t * ldo + (long long) h * headDim + d, a * invL);
    }
}
