// Rotary position embedding in place, NeoX pairing (dimension i with i + rotaryDim/2 in each
// head), angle = position * invFreq[i] in f32 (as HF: inv_freq @ positions in f32), cos/sin with
// full-range reduction (no fast-math: angles reach 1e5 rad at long context). Dimensions past
// rotaryDim are left alone. Blocks x over tokens; blocks y and threads over (head, pair) of q then
// k, so that a decode step of few tokens still spreads over several SMs.
#include "common.cuh"

// q [T, numHeads*headDim] (ldq), k [T, numKvHeads*headDim] (ldk), pos [T] (I32, stride ldp),
// invFreq [rotaryDim/2] f32
extern "C" __global__ void rope_neox_bf16(bf16* q, bf16* k, const int* pos, const float* invFreq, int tokens,
                                          int numHeads, int numKvHeads, int headDim, int rotaryDim,
                                          long long ldq, long long ldk, long long ldp) {
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
            float s, c;
            sincosf(p * invFreq[i], &s, &c);
            float x0 = to_f32(base[i]);
            float x1 = to_f32(base[i + half]);
            store(base + i, x0 * c - x1 * s);
            store(base + i + half, x1 * c + x0 * s);
        }
    }
}
