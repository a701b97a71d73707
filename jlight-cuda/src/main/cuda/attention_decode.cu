// Decode paged attention (few query tokens per sequence, long cached context): split-KV, the G
// query heads of one KV head together, 16-byte K/V loads, and the splits merged in the kernel by
// the last block of each (token, KV head) — one launch, no combine kernel.
//
// Why this shape (attention_split.cu reached 4..46% of HBM bandwidth): there every lane loaded 4
// bytes, every row cost G full-warp reductions, and a warp's next loads waited for its math.
// Here a row of K (or V) is read by TPR lanes with one 16-byte load each (TPR = D/8 rounded up to
// a power of two, so a warp covers 32/TPR rows per load), a score needs log2(TPR) shuffles, and
// every warp issues its next U row-batches' loads before doing the math of the current ones (a
// register double buffer), so the memory system always has work. Each row group (TPR lanes)
// keeps its own online softmax over the rows it saw; row groups merge by shuffles, warps through
// shared memory, splits through the partials buffer.
//
// Same flat varlen batch, layouts and partials format as attention_split.cu: token t's context is
// the first ctx positions of its sequence; a block of splits past a token's context returns at
// once, so the grid may be sized for a context bound (a CUDA graph's); lengths are read from
// device memory only. Partials (f32): M [T, H, S], L [T, H, S], ACC [T, H, S, D] in one buffer
// `part`. counters [T, numKvHeads] I32 must be zero before the first launch; the last split
// block of each (token, KV head) sets its counter back to zero.
//
// Kernels paged_attention_decode_d{D}_g{G}_bf16; needs D % 8 == 0, 16-byte aligned q rows and
// K/V rows (the host checks). grid (numKvHeads * maxSplits, T), block 128, dynamic smem
// 4 * G * (D + 2) floats. prefetchRows: K/V rows per block pulled into L2 before the PDL wait
// (prefetch_split_kv in attention_merge.cuh; 0: none).
#include "common.cuh"
#include "attention_merge.cuh"  // split_block, finish_decode_block

__device__ __forceinline__ void bf16x8_to_f32(const uint4& v, float* f) {
    const bf162* p = reinterpret_cast<const bf162*>(&v);
#pragma unroll
    for (int i = 0; i < 4; i++) {
        float2 x = __bfloat1622float2(p[i]);
        f[2 * i] = x.x;
        f[2 * i + 1] = x.y;
    }
}

template <int D, int G>
struct DecodeShape {
    static constexpr int CHUNKS = D / 8;  // 16-byte chunks of a row
    static constexpr int TPR = CHUNKS <= 4 ? 4 : CHUNKS <= 8 ? 8 : CHUNKS <= 16 ? 16 : 32;  // lanes per row
    static constexpr int RPW = 32 / TPR;                                                     // rows per warp load
    static constexpr int U = G <= 4 ? 4 : 2;  // row batches in flight per warp (registers: 2 * 8U for K/V)
    static constexpr int STEP = U * RPW;      // rows a warp handles per iteration
};

// Merges online-softmax state (m, l, acc) with another (mo, lo, acco) over the same output; -inf
// maxima (no position seen) contribute nothing.
__device__ __forceinline__ void merge_weights(float m, float mo, float& f1, float& f2, float& mNew) {
    mNew = fmaxf(m, mo);
    float ms = mNew == -INFINITY ? 0.f : mNew;
    f1 = exp2f(m - ms);
    f2 = exp2f(mo - ms);
}

template <int D, int G>
__device__ void decode_attention(DECODE_KERNEL_PARAMS) {
    using S = DecodeShape<D, G>;
    constexpr int CH = S::CHUNKS, TPR = S::TPR, RPW = S::RPW, U = S::U, STEP = S::STEP;
    extern __shared__ float decode_smem[];
    const SplitBlock sb = split_block(numKvHeads, splitSize, tokenSeq, queryStart, seqLens);
    if (sb.split >= sb.nsplit) return;  // the whole block: before any barrier
    const int kvh = sb.kvh, split = sb.split, t = sb.t, s = sb.s, nsplit = sb.nsplit, start = sb.start, end = sb.end;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    const int rg = lane / TPR, c = lane % TPR;  // row group of the warp, 16-byte chunk of the row
    const bool active = c < CH;
    const long long kvDim = (long long) numKvHeads * D;
    const long long colOff = (long long) kvh * D + c * 8;
    const int* table = blockTables + (long long) s * maxBlocks;
    const float qscale = scale * 1.4426950408889634f;  // scores in log2 units

    float qf[G][8], acc[G][8], m[G], l[G];
#pragma unroll
    for (int g = 0; g < G; g++) {
        uint4 raw = active ? *reinterpret_cast<const uint4*>(q + t * ldq + (long long) (kvh * G + g) * D + c * 8)
                           : make_uint4(0, 0, 0, 0);
        bf16x8_to_f32(raw, qf[g]);
#pragma unroll
        for (int i = 0; i < 8; i++) {
            qf[g][i] *= qscale;
            acc[g][i] = 0.f;
        }
        m[g] = -INFINITY;
        l[g] = 0.f;
    }

    // K/V rows base + u * RPW + rg of this lane's chunk; rows past the split (or chunks past the
    // row) are zero and never addressed: unused pages may hold anything, NaN included.
    auto load = [&](int base, uint4 (&kr)[U], uint4 (&vr)[U]) {
#pragma unroll
        for (int u = 0; u < U; u++) {
            int p = base + u * RPW + rg;
            if (active && p < end) {
                long long row = (long long) table[p / blockSize] * blockSize + p % blockSize;
                kr[u] = __ldg(reinterpret_cast<const uint4*>(kPool + row * kvDim + colOff));
                vr[u] = __ldg(reinterpret_cast<const uint4*>(vPool + row * kvDim + colOff));
            } else {
                kr[u] = make_uint4(0, 0, 0, 0);
                vr[u] = make_uint4(0, 0, 0, 0);
            }
        }
    };
    uint4 kc[U], vc[U], kn[U], vn[U];
    int base = start + warp * STEP;
    load(base, kc, vc);
    for (; base < end; base += nwarps * STEP) {  // warp-uniform condition
        load(base + nwarps * STEP, kn, vn);      // the next batch flies while this one is computed
        float sc[U][G];
#pragma unroll
        for (int u = 0; u < U; u++) {
            float kf[8];
            bf16x8_to_f32(kc[u], kf);
#pragma unroll
            for (int g = 0; g < G; g++) {
                float d = 0.f;
#pragma unroll
                for (int i = 0; i < 8; i++) d = fmaf(qf[g][i], kf[i], d);
                sc[u][g] = d;
            }
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
#pragma unroll
            for (int g = 0; g < G; g++) {
#pragma unroll
                for (int o = TPR / 2; o > 0; o >>= 1) sc[u][g] += __shfl_xor_sync(0xffffffffu, sc[u][g], o);
            }
            if (base + u * RPW + rg >= end) {
#pragma unroll
                for (int g = 0; g < G; g++) sc[u][g] = -INFINITY;
            }
        }
#pragma unroll
        for (int g = 0; g < G; g++) {
            float mx = m[g];
#pragma unroll
            for (int u = 0; u < U; u++) mx = fmaxf(mx, sc[u][g]);
            float ms = mx == -INFINITY ? 0.f : mx;  // a row group past the split: nothing to add
            float corr = exp2f(m[g] - ms);
            l[g] *= corr;
#pragma unroll
            for (int i = 0; i < 8; i++) acc[g][i] *= corr;
#pragma unroll
            for (int u = 0; u < U; u++) {
                sc[u][g] = exp2f(sc[u][g] - ms);
                l[g] += sc[u][g];
            }
            m[g] = mx;
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
            float vf[8];
            bf16x8_to_f32(vc[u], vf);
#pragma unroll
            for (int g = 0; g < G; g++) {
#pragma unroll
                for (int i = 0; i < 8; i++) acc[g][i] = fmaf(sc[u][g], vf[i], acc[g][i]);
            }
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
            kc[u] = kn[u];
            vc[u] = vn[u];
        }
    }
    // merge the warp's row groups (lanes c, c + TPR, ...)
#pragma unroll
    for (int o = TPR; o < 32; o <<= 1) {
#pragma unroll
        for (int g = 0; g < G; g++) {
            float f1, f2, mNew;
            merge_weights(m[g], __shfl_xor_sync(0xffffffffu, m[g], o), f1, f2, mNew);
            l[g] = l[g] * f1 + __shfl_xor_sync(0xffffffffu, l[g], o) * f2;
#pragma unroll
            for (int i = 0; i < 8; i++) acc[g][i] = acc[g][i] * f1 + __shfl_xor_sync(0xffffffffu, acc[g][i], o) * f2;
            m[g] = mNew;
        }
    }
    // merge the warps: smem = [nwarps][G] m, [nwarps][G] l, [nwarps][G][D] acc
    float* sm = decode_smem;
    float* sl = decode_smem + nwarps * G;
    float* sacc = decode_smem + 2 * nwarps * G;
    if (lane < CH) {
#pragma unroll
        for (int g = 0; g < G; g++) {
#pragma unroll
            for (int i = 0; i < 8; i++) sacc[(warp * G + g) * D + c * 8 + i] = acc[g][i];
            if (lane == 0) {
                sm[warp * G + g] = m[g];
                sl[warp * G + g] = l[g];
            }
        }
    }
    finish_decode_block<G>(out, part, counters, decode_smem, nwarps, D, kvh, t, split, nsplit, numKvHeads, maxSplits,
                           numTokens, ldo);
}

#define DECODE_ATTENTION(D, G, MIN_BLOCKS)                                                                     \
    extern "C" __global__ void __launch_bounds__(128, MIN_BLOCKS)                                              \
        paged_attention_decode_d##D##_g##G##_bf16(DECODE_KERNEL_PARAMS, int prefetchRows) {                    \
        prefetch_split_kv(kPool, vPool, queryStart, seqLens, blockTables, tokenSeq, numKvHeads, blockSize,      \
                          maxBlocks, splitSize, D, prefetchRows);                                               \
        pdl_entry();                                                                                           \
        decode_attention<D, G>(DECODE_KERNEL_ARGS);                                                            \
    }
// at least 3 blocks (12 warps) per SM where the registers allow it
#define DECODE_ATTENTION_D(D)                                                                                  \
    DECODE_ATTENTION(D, 1, 4) DECODE_ATTENTION(D, 2, 4) DECODE_ATTENTION(D, 3, 3) DECODE_ATTENTION(D, 4, 3)    \
    DECODE_ATTENTION(D, 5, 2) DECODE_ATTENTION(D, 6, 2) DECODE_ATTENTION(D, 7, 2) DECODE_ATTENTION(D, 8, 2)
DECODE_ATTENTION_D(64)
DECODE_ATTENTION_D(80)
DECODE_ATTENTION_D(96)
DECODE_ATTENTION_D(128)
DECODE_ATTENTION_D(256)
