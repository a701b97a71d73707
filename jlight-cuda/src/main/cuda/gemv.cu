// Matrix-vector products for few tokens (decode at small batch), where cuBLASLt's GEMM tiles
// leave bandwidth unused: out [T, N] (ldo) = x [T, K] (ldx) · w [N, K]ᵀ (ldw), T <= 8.
// Memory-bound on w: each warp owns GEMV_ROWS rows of w and streams them with 16-byte loads,
// GEMV_UNROLL loads per row in flight per lane, multiplying each 8-element chunk by the T
// tokens' x chunks (x is small and stays in L1/L2); f32 accumulation, one warp reduction per
// (row, token) at the end. Needs K % 8 == 0 and 16-byte aligned rows of x and w (the host
// checks, and uses cuBLASLt otherwise).
// Kernels gemv_t{T}_{bf16|f32} (output dtype); grid ceil(N / (GEMV_ROWS * warps)), block 32 * warps.
#include "common.cuh"

#define GEMV_ROWS 2
#define GEMV_UNROLL 4

__device__ __forceinline__ float dot8(const uint4& a, const uint4& b) {
    const bf162* pa = reinterpret_cast<const bf162*>(&a);
    const bf162* pb = reinterpret_cast<const bf162*>(&b);
    float s = 0.f;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        float2 fa = __bfloat1622float2(pa[i]);
        float2 fb = __bfloat1622float2(pb[i]);
        s = fmaf(fa.x, fb.x, s);
        s = fmaf(fa.y, fb.y, s);
    }
    return s;
}

template <int T, typename OutT>
__device__ void gemv_impl(OutT* out, const bf16* x, const bf16* w, int n, int k, long long ldo, long long ldx,
                          long long ldw) {
    const int lane = threadIdx.x & 31;
    const int warps = blockDim.x >> 5;
    const long long row0 = ((long long) blockIdx.x * warps + (threadIdx.x >> 5)) * GEMV_ROWS;
    if (row0 >= n) return;  // no barriers in this kernel
    const bf16* wr[GEMV_ROWS];
#pragma unroll
    for (int r = 0; r < GEMV_ROWS; r++) {
        // rows past n repeat the last row; their sums are not stored
        long long row = row0 + r < n ? row0 + r : n - 1;
        wr[r] = w + row * ldw;
    }
    float acc[GEMV_ROWS][T];
#pragma unroll
    for (int r = 0; r < GEMV_ROWS; r++) {
#pragma unroll
        for (int t = 0; t < T; t++) acc[r][t] = 0.f;
    }
    for (int k0 = lane * 8; k0 < k; k0 += 32 * 8 * GEMV_UNROLL) {
        uint4 wv[GEMV_UNROLL][GEMV_ROWS];
#pragma unroll
        for (int u = 0; u < GEMV_UNROLL; u++) {
            int kk = k0 + u * 256;
#pragma unroll
            for (int r = 0; r < GEMV_ROWS; r++) {
                wv[u][r] = kk < k ? __ldcs(reinterpret_cast<const uint4*>(wr[r] + kk)) : make_uint4(0, 0, 0, 0);
            }
        }
#pragma unroll
        for (int u = 0; u < GEMV_UNROLL; u++) {
            int kk = k0 + u * 256;
            if (kk < k) {
#pragma unroll
                for (int t = 0; t < T; t++) {
                    uint4 xv = __ldg(reinterpret_cast<const uint4*>(x + t * ldx + kk));
#pragma unroll
                    for (int r = 0; r < GEMV_ROWS; r++) acc[r][t] += dot8(wv[u][r], xv);
                }
            }
        }
    }
#pragma unroll
    for (int r = 0; r < GEMV_ROWS; r++) {
#pragma unroll
        for (int t = 0; t < T; t++) {
            float v = warp_sum(acc[r][t]);
            if (lane == 0 && row0 + r < n) store(out + t * ldo + row0 + r, v);
        }
    }
}

#define GEMV(T)                                                                                          \
    extern "C" __global__ void gemv_t##T##_bf16(bf16* out, const bf16* x, const bf16* w, int n, int k,    \
                                                long long ldo, long long ldx, long long ldw) {            \
        gemv_impl<T, bf16>(out, x, w, n, k, ldo, ldx, ldw);                                              \
    }                                                                                                    \
    extern "C" __global__ void gemv_t##T##_f32(float* out, const bf16* x, const bf16* w, int n, int k,    \
                                               long long ldo, long long ldx, long long ldw) {             \
        gemv_impl<T, float>(out, x, w, n, k, ldo, ldx, ldw);                                             \
    }
GEMV(1)
GEMV(2)
GEMV(3)
GEMV(4)
GEMV(5)
GEMV(6)
GEMV(7)
GEMV(8)
