// Paged KV cache writes and causal paged attention over a flat varlen batch (prefill chunks on
// a cached prefix and decode tokens together), vLLM's layout:
//   K, V pools of one layer: [numBlocks, blockSize, numKvHeads, headDim] bf16
//   token t of sequence s sits at position seqLens[s] - queryLen(s) + (t - queryStart[s]) and
//   attends to positions 0..pos; position p lives in block blockTables[s][p / blockSize] at
//   offset p % blockSize.
// Metadata (device, I32): queryStart [S+1], seqLens [S], blockTables [S, maxBlocks],
// slotMapping [T], tokenSeq [T] (sequence of each token, computed on the host).
#include "attention_merge.cuh"  // load_q_group, stash_warp_state, store_split_result

// kPool/vPool [numBlocks*blockSize, kvDim] rows = k/v [T, kvDim] (ldk/ldv) rows at slotMapping;
// slot -1 skips the token. 16-byte copies where kvDim, strides and pointers allow.
extern "C" __global__ void write_kv_bf16(bf16* kPool, bf16* vPool, const bf16* k, const bf16* v,
                                         const int* slotMapping, int tokens, int kvDim, long long ldk,
                                         long long ldv) {
    bool vec = (kvDim & 7) == 0 && (ldk & 7) == 0 && (ldv & 7) == 0
               && (((uintptr_t) kPool | (uintptr_t) vPool | (uintptr_t) k | (uintptr_t) v) & 15) == 0;
    for (int t = blockIdx.x; t < tokens; t += gridDim.x) {
        long long slot = slotMapping[t];
        if (slot < 0) continue;
        if (vec) {
            int n8 = kvDim >> 3;
            uint4* kd = reinterpret_cast<uint4*>(kPool + slot * kvDim);
            uint4* vd = reinterpret_cast<uint4*>(vPool + slot * kvDim);
            const uint4* ks = reinterpret_cast<const uint4*>(k + t * ldk);
            const uint4* vs = reinterpret_cast<const uint4*>(v + t * ldv);
            for (int c = threadIdx.x; c < n8; c += blockDim.x) {
                kd[c] = ks[c];
                vd[c] = vs[c];
            }
        } else {
            for (int c = threadIdx.x; c < kvDim; c += blockDim.x) {
                kPool[slot * kvDim + c] = k[t * ldk + c];
                vPool[slot * kvDim + c] = v[t * ldv + c];
            }
        }
    }
}

#define ATTN_MAX_PAIRS 4   // headDim <= 2 * 32 * 4 = 256
#define ATTN_MAX_WARPS 8

// One block per (query head, token): each warp walks a strided subset of the token's causal
// context with an online softmax (lane l owns dimension pairs l, l+32, ...), then the warps'
// partial (max, sum, acc) are merged through shared memory. f32 math throughout.
// out [T, numHeads*headDim] (ldo) = softmax(q k^T * scale) v; q [T, numHeads*headDim] (ldq)
// grid (numHeads, T), block (32 * nwarps), dynamic smem nwarps * (headDim + 2) floats
extern "C" __global__ void paged_attention_bf16(bf16* out, const bf16* q, const bf16* kPool, const bf16* vPool,
                                                const int* queryStart, const int* seqLens,
                                                const int* blockTables, const int* tokenSeq, int numHeads,
                                                int numKvHeads, int headDim, int blockSize, int maxBlocks,
                                                float scale, long long ldo, long long ldq) {
    extern __shared__ float attn_smem[];
    const int h = blockIdx.x;
    const int t = blockIdx.y;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    const int s = tokenSeq[t];
    const int ctx = token_context(t, s, queryStart, seqLens);
    const int pos = ctx - 1;
    const int kvh = h / (numHeads / numKvHeads);
    const int kvDim = numKvHeads * headDim;
    const int pairs = headDim / 2;
    const int* table = blockTables + (long long) s * maxBlocks;
    const float log2e = 1.4426950408889634f;

    // q pre-scaled so that scores come out in log2 units
    float2 qv[ATTN_MAX_PAIRS];
    float2 acc[ATTN_MAX_PAIRS];
    const bf162* q2 = reinterpret_cast<const bf162*>(q + t * ldq + h * headDim);
#pragma unroll
    for (int i = 0; i < ATTN_MAX_PAIRS; i++) {
        int j = lane + 32 * i;
        float2 f = j < pairs ? __bfloat1622float2(q2[j]) : make_float2(0.f, 0.f);
        qv[i] = make_float2(f.x * scale * log2e, f.y * scale * log2e);
        acc[i] = make_float2(0.f, 0.f);
    }
    float m = -INFINITY, l = 0.0f;
    for (int p = warp; p < ctx; p += nwarps) {
        long long row = (long long) table[p / blockSize] * blockSize + (p % blockSize);
        const bf162* k2 = reinterpret_cast<const bf162*>(kPool + row * kvDim + kvh * headDim);
        const bf162* v2 = reinterpret_cast<const bf162*>(vPool + row * kvDim + kvh * headDim);
        float dot = 0.f;
#pragma unroll
        for (int i = 0; i < ATTN_MAX_PAIRS; i++) {
            int j = lane + 32 * i;
            if (j < pairs) {
                float2 kf = __bfloat1622float2(k2[j]);
                dot += qv[i].x * kf.x + qv[i].y * kf.y;
            }
        }
        dot = warp_sum(dot);
        float mNew = fmaxf(m, dot);
        float corr = exp2f(m - mNew);
        float w = exp2f(dot - mNew);
        l = l * corr + w;
        m = mNew;
#pragma unroll
        for (int i = 0; i < ATTN_MAX_PAIRS; i++) {
            int j = lane + 32 * i;
            if (j < pairs) {
                float2 vf = __bfloat1622float2(v2[j]);
                acc[i].x = acc[i].x * corr + w * vf.x;
                acc[i].y = acc[i].y * corr + w * vf.y;
            }
        }
    }
    // merge the warps: smem = [nwarps] m, [nwarps] l, [nwarps][headDim] acc
    float* sm = attn_smem;
    float* sl = attn_smem + nwarps;
    float* sacc = attn_smem + 2 * nwarps;
    if (lane == 0) {
        sm[warp] = m;
        sl[warp] = l;
    }
#pragma unroll
    for (int i = 0; i < ATTN_MAX_PAIRS; i++) {
        int j = lane + 32 * i;
        if (j < pairs) {
            sacc[warp * headDim + 2 * j] = acc[i].x;
            sacc[warp * headDim + 2 * j + 1] = acc[i].y;
        }
    }
    __syncthreads();
    float M = -INFINITY;
    for (int w = 0; w < nwarps; w++) M = fmaxf(M, sm[w]);
    float L = 0.f;
    for (int w = 0; w < nwarps; w++) L += sl[w] * exp2f(sm[w] - M);
    bf16* o = out + t * ldo + h * headDim;
    for (int d = threadIdx.x; d < headDim; d += blockDim.x) {
        float a = 0.f;
        for (int w = 0; w < nwarps; w++) a += sacc[w * headDim + d] * exp2f(sm[w] - M);
        store(o + d, a / L);
    }
}

// The same attention with the G = numHeads / numKvHeads query heads that share a KV head in one
// block, so each K/V row is read from memory once per group instead of G times (the decode
// path's cost is reading K/V). One block per (KV head, token); each warp walks a strided subset
// of the context keeping G online softmaxes; the warps' partials merge through shared memory.
// grid (numKvHeads, T), block (32 * nwarps), dynamic smem nwarps * G * (headDim + 2) floats
template <int G>
__device__ void paged_attention_group(bf16* out, const bf16* q, const bf16* kPool, const bf16* vPool,
                                      const int* queryStart, const int* seqLens, const int* blockTables,
                                      const int* tokenSeq, int numKvHeads, int headDim, int blockSize,
                                      int maxBlocks, float scale, long long ldo, long long ldq) {
    extern __shared__ float group_smem[];
    const int kvh = blockIdx.x;
    const int t = blockIdx.y;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    const int s = tokenSeq[t];
    const int ctx = token_context(t, s, queryStart, seqLens);
    const int kvDim = numKvHeads * headDim;
    const int pairs = headDim / 2;
    const int* table = blockTables + (long long) s * maxBlocks;
    const float qscale = scale * 1.4426950408889634f;

    float2 qv[G][ATTN_MAX_PAIRS];
    float2 acc[G][ATTN_MAX_PAIRS];
    float m[G], l[G];
    load_q_group<G, ATTN_MAX_PAIRS>(qv, acc, m, l, q + t * ldq + (long long) kvh * G * headDim, headDim, lane,
                                    qscale);
    for (int p = warp; p < ctx; p += nwarps) {
        long long row = (long long) table[p / blockSize] * blockSize + (p % blockSize);
        const bf162* k2 = reinterpret_cast<const bf162*>(kPool + row * kvDim + kvh * headDim);
        const bf162* v2 = reinterpret_cast<const bf162*>(vPool + row * kvDim + kvh * headDim);
        float2 kf[ATTN_MAX_PAIRS], vf[ATTN_MAX_PAIRS];
#pragma unroll
        for (int i = 0; i < ATTN_MAX_PAIRS; i++) {
            int j = lane + 32 * i;
            kf[i] = j < pairs ? __bfloat1622float2(k2[j]) : make_float2(0.f, 0.f);
            vf[i] = j < pairs ? __bfloat1622float2(v2[j]) : make_float2(0.f, 0.f);
        }
#pragma unroll
        for (int g = 0; g < G; g++) {
            float dot = 0.f;
#pragma unroll
            for (int i = 0; i < ATTN_MAX_PAIRS; i++) dot += qv[g][i].x * kf[i].x + qv[g][i].y * kf[i].y;
            dot = warp_sum(dot);
            float mNew = fmaxf(m[g], dot);
            float corr = exp2f(m[g] - mNew);
            float w = exp2f(dot - mNew);
            l[g] = l[g] * corr + w;
            m[g] = mNew;
#pragma unroll
            for (int i = 0; i < ATTN_MAX_PAIRS; i++) {
                acc[g][i].x = acc[g][i].x * corr + w * vf[i].x;
                acc[g][i].y = acc[g][i].y * corr + w * vf[i].y;
            }
        }
    }
    // merge the warps (attention_merge.cuh); one split: the output directly
    stash_warp_state<G, ATTN_MAX_PAIRS>(group_smem, nwarps, warp, lane, headDim, m, l, acc);
    __syncthreads();
    store_split_result<G>(out, /*part*/ nullptr, group_smem, nwarps, headDim, kvh, t, /*split*/ 0, /*nsplit*/ 1,
                          numKvHeads, /*maxSplits*/ 1, /*numTokens*/ 0, ldo);
}

#define PAGED_ATTENTION_GROUP(G)                                                                              \
    extern "C" __global__ void paged_attention_g##G##_bf16(                                                   \
        bf16* out, const bf16* q, const bf16* kPool, const bf16* vPool, const int* queryStart,               \
        const int* seqLens, const int* blockTables, const int* tokenSeq, int numKvHeads, int headDim,        \
        int blockSize, int maxBlocks, float scale, long long ldo, long long ldq) {                           \
        paged_attention_group<G>(out, q, kPool, vPool, queryStart, seqLens, blockTables, tokenSeq, numKvHeads, \
                                 headDim, blockSize, maxBlocks, scale, ldo, ldq);                            \
    }
PAGED_ATTENTION_GROUP(2)
PAGED_ATTENTION_GROUP(4)
PAGED_ATTENTION_GROUP(8)
