// Rotary position embedding in place, NeoX pairing (dimension i with i + rotaryDim/2 in each
// head), angle = position * invFreq[i] in f32 (as HF: inv_freq @ positions in f32), cos/sin with
// full-range reduction (no fast-math: angles reach 1e5 rad at long context). Dimensions past
// rotaryDim are left alone. Blocks x over tokens; blocks y and threads over (head, pair) of q then
// k, so that a decode step of few tokens still spreads over several SMs.
#include "common.cuh"

// Column (within the kvDim row) of the jj-th k dimension past rotaryDim: head jj / pass.
__device__ __forceinline__ int h_dim_offset(int jj, int pass, int headDim, int rotaryDim) {
    return (jj / pass) * headDim + rotaryDim + jj % pass;
}

// Rotates the pair (i, i + half) of one head at base in place; returns the rotated values.
__device__ __forceinline__ float2 rope_pair(bf16* base, int i, int half, float angle) {
    float s, c;
    sincosf(angle, &s, &c);
    float x0 = to_f32(base[i]);
    float x1 = to_f32(base[i + half]);
    bf16 y0 = __float2bfloat16_rn(x0 * c - x1 * s), y1 = __float2bfloat16_rn(x1 * c + x0 * s);
    base[i] = y0;
    base[i + half] = y1;
    return make_float2(__bfloat162float(y0), __bfloat162float(y1));
}

// q [T, numHeads*headDim] (ldq), k [T, numKvHeads*headDim] (ldk), pos [T] (I32, stride ldp),
// invFreq [rotaryDim/2] f32
extern "C" __global__ void rope_neox_bf16(bf16* q, bf16* k, const int* pos, const float* invFreq, int tokens,
                                          int numHeads, int numKvHeads, int headDim, int rotaryDim,
                                          long long ldq, long long ldk, long long ldp) {
    pdl_entry();
    int half = rotaryDim / 2;
    int qPairs = numHeads * half;
    int all = (numHeads + numKvHeads) * half;
    for (int t = blockIdx.x; t < tokens; t += gridDim.x) {
        float p = (float) pos[t * ldp];
        for (int j = blockIdx.y * blockDim.x + threadIdx.x; j < all; j += gridDim.y * blockDim.x) {
            bf16* base;
            int i;
            if (j < qPairs) {
                base = q + t * ldq + (j / half) * headDim;
                i = j % half;
            } else {
                int jj = j - qPairs;
                base = k + t * ldk + (jj / half) * headDim;
                i = jj % half;
            }
            rope_pair(base, i, half, p * invFreq[i]);
        }
    }
}

// rope_neox_bf16 and write_kv_bf16 in one launch (decode runs both per layer; one kernel saves a
// launch and re-reading k): q and k rotated in place as rope_neox_bf16 does, and the rotated k
// and v rows written to kPool/vPool [numBlocks*blockSize, kvDim] at slotMapping[t] (slot -1:
// rotated, not cached). Work items per token: q pairs, k pairs, k dims past rotaryDim, v dims.
// grid (min(T, 2^20), y), block 128; threads stride over a token's items.
extern "C" __global__ void rope_write_kv_bf16(bf16* q, bf16* k, const bf16* v, bf16* kPool, bf16* vPool,
                                              const int* pos, const int* slotMapping, const float* invFreq,
                                              int tokens, int numHeads, int numKvHeads, int headDim, int rotaryDim,
                                              long long ldq, long long ldk, long long ldv, long long ldp) {
    pdl_entry();
    const int half = rotaryDim / 2;
    const int kvDim = numKvHeads * headDim;
    const int qPairs = numHeads * half;
    const int kPairs = numKvHeads * half;
    const int pass = headDim - rotaryDim;  // dims of each k head past the rotary ones
    const int all = qPairs + kPairs + numKvHeads * pass + kvDim;
    for (int t = blockIdx.x; t < tokens; t += gridDim.x) {
        const float p = (float) pos[t * ldp];
        const long long slot = slotMapping[t];
        bf16* kc = slot >= 0 ? kPool + slot * kvDim : nullptr;
        bf16* vc = slot >= 0 ? vPool + slot * kvDim : nullptr;
        for (int j = blockIdx.y * blockDim.x + threadIdx.x; j < all; j += gridDim.y * blockDim.x) {
            if (j < qPairs) {
                int i = j % half;
                rope_pair(q + t * ldq + (long long) (j / half) * headDim, i, half, p * invFreq[i]);
            } else if (j < qPairs + kPairs) {
                int jj = j - qPairs, h = jj / half, i = jj % half;
                float2 r = rope_pair(k + t * ldk + (long long) h * headDim, i, half, p * invFreq[i]);
                if (kc) {
                    store(kc + h * headDim + i, r.x);
                    store(kc + h * headDim + i + half, r.y);
                }
            } else if (j < qPairs + kPairs + numKvHeads * pass) {
                int jj = j - qPairs - kPairs, d = h_dim_offset(jj, pass, headDim, rotaryDim);
                if (kc) kc[d] = k[t * ldk + d];
            } else if (vc) {
                int d = j - qPairs - kPairs - numKvHeads * pass;
                vc[d] = v[t * ldv + d];
            }
        }
    }
}
