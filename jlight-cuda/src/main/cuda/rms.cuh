// The arithmetic of rms_norm_bf16's vectorized path (norm.cu), shared with the GEMVs that take the
// norm into their prologue (gemv.cu: gemv_norm_*), so both give the same bits: a row is read as
// 16-byte words of 8 bf16; thread i of V sums the squares of words i, i + V, ... (each word's
// elements in order, f32), the block adds the V partial sums (block_sum's order), and the output
// is bf16(x * inv * w) per element.
#pragma once
#include "common.cuh"

// 8 bf16 as one 16-byte word
union Pack8 {
    uint4 u;
    bf16 h[8];
};

// Thread `first` of `stride` threads: its partial sum of squares over the n8 words of row.
__device__ __forceinline__ float rms_partial(const bf16* row, int n8, int first, int stride) {
    float ss = 0.0f;
    for (int c = first; c < n8; c += stride) {
        Pack8 p;
        p.u = reinterpret_cast<const uint4*>(row)[c];
#pragma unroll
        for (int e = 0; e < 8; e++) {
            float v = to_f32(p.h[e]);
            ss += v * v;
        }
    }
    return ss;
}

// One word of normed output: bf16(x * inv * w) for its 8 elements.
__device__ __forceinline__ uint4 rms_scale8(uint4 x, uint4 w, float inv) {
    Pack8 p, q, r;
    p.u = x;
    q.u = w;
#pragma unroll
    for (int e = 0; e < 8; e++) r.h[e] = __float2bfloat16_rn(to_f32(p.h[e]) * inv * to_f32(q.h[e]));
    return r.u;
}
