// RMSNorm, alone and fused with the residual add that precedes it:
//   out = x / sqrt(mean(x^2) + eps) * weight                      (rms_norm)
//   residual += x; out = rmsNorm(residual) * weight               (add_rms_norm)
// One block per row; the sum of squares is taken in f32 over the bf16-rounded residual (what
// HF computes when the residual stream is bf16). Each thread revisits only its own columns, so
// the second pass needs no barrier for the residual it wrote.
#include "common.cuh"

// out [rows, cols] (ldo) = rmsnorm(x [rows, cols] (ldx)) * w [cols]
extern "C" __global__ void rms_norm_bf16(bf16* out, const bf16* x, const bf16* w, int rows, int cols,
                                         long long ldo, long long ldx, float eps) {
    __shared__ float scratch[32];
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const bf16* xr = x + r * ldx;
        float ss = 0.0f;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) {
            float v = to_f32(xr[c]);
            ss += v * v;
        }
        float inv = rsqrtf(block_sum(ss, scratch) / cols + eps);
        bf16* o = out + r * ldo;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) store(o + c, to_f32(xr[c]) * inv * to_f32(w[c]));
    }
}

// res [rows, cols] (ldr) += x (ldx); out (ldo) = rmsnorm(res) * w
extern "C" __global__ void add_rms_norm_bf16(bf16* out, bf16* res, const bf16* x, const bf16* w, int rows,
                                             int cols, long long ldo, long long ldr, long long ldx, float eps) {
    __shared__ float scratch[32];
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        bf16* rr = res + r * ldr;
        const bf16* xr = x + r * ldx;
        float ss = 0.0f;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) {
            bf16 s = __float2bfloat16_rn(to_f32(rr[c]) + to_f32(xr[c]));
            rr[c] = s;
            float v = to_f32(s);
            ss += v * v;
        }
        float inv = rsqrtf(block_sum(ss, scratch) / cols + eps);
        bf16* o = out + r * ldo;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) store(o + c, to_f32(rr[c]) * inv * to_f32(w[c]));
    }
}
