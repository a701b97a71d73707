// RMSNorm, alone and fused with the residual add that precedes it:
//   out = x / sqrt(mean(x^2) + eps) * weight                      (rms_norm)
//   residual += x; out = rmsNorm(residual) * weight               (add_rms_norm)
// One block per row; the sum of squares is taken in f32 over the bf16-rounded residual (what
// HF computes when the residual stream is bf16). Each thread revisits only its own columns, so
// the second pass needs no barrier for the residual it wrote. Rows whose pointers and strides
// allow it (cols % 8 == 0, 16-byte aligned) go 8 bf16 at a time through 16-byte loads and
// stores; others take the scalar loop. Same math either way (f32, one rounding per output).
#include "common.cuh"
#include "rms.cuh"

__device__ __forceinline__ bool aligned16(const void* p) { return ((uintptr_t) p & 15) == 0; }

// out [rows, cols] (ldo) = rmsnorm(x [rows, cols] (ldx)) * w [cols]
extern "C" __global__ void rms_norm_bf16(bf16* out, const bf16* x, const bf16* w, int rows, int cols,
                                         long long ldo, long long ldx, float eps) {
    pdl_entry();
    JLIGHT_BLOCK_SHARED float scratch[32];
    bool vec = (cols & 7) == 0 && (ldo & 7) == 0 && (ldx & 7) == 0 && aligned16(out) && aligned16(x) && aligned16(w);
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const bf16* xr = x + r * ldx;
        bf16* o = out + r * ldo;
        float ss = 0.0f;
        if (vec) {
            // rms.cuh's order, which the gemv_norm_* prologues repeat
            int n8 = cols >> 3;
            ss = rms_partial(xr, n8, threadIdx.x, blockDim.x);
            float inv = rsqrtf(block_sum(ss, scratch) / cols + eps);
            for (int c = threadIdx.x; c < n8; c += blockDim.x) {
                reinterpret_cast<uint4*>(o)[c] = rms_scale8(reinterpret_cast<const uint4*>(xr)[c],
                                                            reinterpret_cast<const uint4*>(w)[c], inv);
            }
        } else {
            for (int c = threadIdx.x; c < cols; c += blockDim.x) {
                float v = to_f32(xr[c]);
                ss += v * v;
            }
            float inv = rsqrtf(block_sum(ss, scratch) / cols + eps);
            for (int c = threadIdx.x; c < cols; c += blockDim.x) store(o + c, to_f32(xr[c]) * inv * to_f32(w[c]));
        }
    }
}

// res [rows, cols] (ldr) += x (ldx); out (ldo) = rmsnorm(res) * w
extern "C" __global__ void add_rms_norm_bf16(bf16* out, bf16* res, const bf16* x, const bf16* w, int rows,
                                             int cols, long long ldo, long long ldr, long long ldx, float eps) {
    pdl_entry();
    JLIGHT_BLOCK_SHARED float scratch[32];
    bool vec = (cols & 7) == 0 && (ldo & 7) == 0 && (ldr & 7) == 0 && (ldx & 7) == 0 && aligned16(out)
               && aligned16(res) && aligned16(x) && aligned16(w);
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        bf16* rr = res + r * ldr;
        const bf16* xr = x + r * ldx;
        bf16* o = out + r * ldo;
        float ss = 0.0f;
        if (vec) {
            int n8 = cols >> 3;
            for (int c = threadIdx.x; c < n8; c += blockDim.x) {
                Pack8 a, b, s;
                a.u = reinterpret_cast<const uint4*>(rr)[c];
                b.u = reinterpret_cast<const uint4*>(xr)[c];
#pragma unroll
                for (int e = 0; e < 8; e++) {
                    s.h[e] = __float2bfloat16_rn(to_f32(a.h[e]) + to_f32(b.h[e]));
                    float v = to_f32(s.h[e]);
                    ss += v * v;
                }
                reinterpret_cast<uint4*>(rr)[c] = s.u;
            }
            float inv = rsqrtf(block_sum(ss, scratch) / cols + eps);
            // each thread rereads only the 16-byte words it wrote: no barrier needed
            for (int c = threadIdx.x; c < n8; c += blockDim.x) {
                reinterpret_cast<uint4*>(o)[c] = rms_scale8(reinterpret_cast<const uint4*>(rr)[c],
                                                            reinterpret_cast<const uint4*>(w)[c], inv);
            }
        } else {
            for (int c = threadIdx.x; c < cols; c += blockDim.x) {
                bf16 s = __float2bfloat16_rn(to_f32(rr[c]) + to_f32(xr[c]));
                rr[c] = s;
                float v = to_f32(s);
                ss += v * v;
            }
            float inv = rsqrtf(block_sum(ss, scratch) / cols + eps);
            for (int c = threadIdx.x; c < cols; c += blockDim.x) store(o + c, to_f32(rr[c]) * inv * to_f32(w[c]));
        }
    }
}
