// Matrix-vector products for few tokens (decode at small batch), where cuBLASLt's GEMM tiles
// leave bandwidth unused: out [T, N] (ldo) = x [T, K] (ldx) · w [N, K]ᵀ (ldw), 1 <= T <= 8.
//
// Memory-bound on w, so every weight byte is read once and used for all T tokens: the product is
// done on tensor cores (mma m16n8k16: w's 16 rows are the A operand, the T <= 8 tokens the n = 8
// columns of B), which leaves the SM nothing to do but keep loads in flight. A scalar kernel
// (convert + FMA per token) is issue-bound at T = 8 on H100 (it read at ~2/3 of cuBLASLt's rate).
//
// The sum over k does not care in which order k is visited, so a lane's mma fragments are taken
// straight from one 16-byte load: in a 32-wide k chunk, lane (g = lane/4, q = lane%4) loads the
// 8 elements k = 8q..8q+7 of rows g and g+8 of w and of token g of x. Those 8 k go through two
// mmas as the logical k pairs (2q, 2q+1), (2q+8, 2q+9) of each: A regs {w_g.x, w_g8.x, w_g.y,
// w_g8.y} with B regs {x.x, x.y}, then the same with .z/.w. Lanes of tokens >= T load zeros.
//
// A block of GEMV_WARPS warps owns 16 rows; warp i takes the k chunks i, i + GEMV_WARPS, ... (the
// block streams contiguous 4 KiB runs of each row), GEMV_UNROLL chunks (2 x 16 B per lane each)
// in flight per warp. The warps' partial sums meet in shared memory and are added in warp order
// (deterministic, no atomics, no second pass). One block per 16 rows: N = 4096 already gives ~2
// blocks of 8 warps on each of 132 SMs, 128 KiB in flight per SM.
// Rows past N repeat row N - 1 (their sums are not stored); k past K reads zeros.
// Needs K % 8 == 0 and 16-byte aligned rows of x and w (the host checks, and uses cuBLASLt otherwise).
// Kernels gemv_{bf16|f32} (output dtype); grid ceil(N / 16), block 32 * GEMV_WARPS, no dynamic smem.
//
// No L2 prefetch of the weights before the PDL wait: a bulk prefetch of each block's first 4, 8
// or 16 KiB per row made every decode step slower on the H100 (bs1 6.205 / 6.421 / 6.440 ms
// against 5.987 without; docs/results/2026-11-26-s4-run1-prefetch).
// gemv_swiglu_bf16: the gate/up projection with Llama's silu·mul fused in (below).
#include "common.cuh"

#define GEMV_WARPS 8
#define GEMV_UNROLL 8
#define GEMV_ROWS 16

#include "mma.cuh"

// SWIGLU: w is gate_up [2n, K] (n gate rows, then n up rows) and out [T, n] = silu(x·gateᵀ) *
// (x·upᵀ): a block takes gate rows row0..row0+7 as its mma rows 0-7 and the matching up rows as
// rows 8-15, so both halves of an output meet in the block. Gate and up are rounded to bf16
// before silu·mul, as the unfused gemv_bf16 + silu_mul_bf16 pair does: same bits, one launch
// less and no [T, 2n] intermediate.
template <typename OutT, bool SWIGLU>
__device__ void gemv_impl(OutT* out, const bf16* x, const bf16* w, int t, int n, int k, long long ldo,
                          long long ldx, long long ldw) {
    JLIGHT_BLOCK_SHARED float partial[GEMV_WARPS][32][4];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int g = lane >> 2, q = lane & 3;
    const long long row0 = (long long) blockIdx.x * (SWIGLU ? GEMV_ROWS / 2 : GEMV_ROWS);
    const long long ra = min(row0 + g, (long long) n - 1);
    const long long rb = SWIGLU ? ra + n : min(row0 + g + 8, (long long) n - 1);
    const bf16* wa = w + ra * ldw + q * 8;
    const bf16* wb = w + rb * ldw + q * 8;
    const bool hasX = g < t;
    const bf16* xr = x + (hasX ? g : 0) * ldx + q * 8;
    const int chunks = (k + 31) >> 5;
    const uint4 zero = make_uint4(0, 0, 0, 0);
    float acc[4] = {0.f, 0.f, 0.f, 0.f};
    // pdl_entry() before any load: issuing the first chunks' weight loads ahead of it (weights are
    // never written in a step) measured 17 % slower at K = 14336 on the H100 (down_proj 53.2 us
    // against 45.5 us with this loop untouched), more than the overlap it bought.
    pdl_entry();
    for (int c0 = warp; c0 < chunks; c0 += GEMV_WARPS * GEMV_UNROLL) {
        uint4 va[GEMV_UNROLL], vb[GEMV_UNROLL], vx[GEMV_UNROLL];
#pragma unroll
        for (int u = 0; u < GEMV_UNROLL; u++) {
            const int kk = (c0 + u * GEMV_WARPS) * 32;
            const bool ok = kk + q * 8 < k;  // also false for chunks past the last
            va[u] = ok ? __ldcs(reinterpret_cast<const uint4*>(wa + kk)) : zero;
            vb[u] = ok ? __ldcs(reinterpret_cast<const uint4*>(wb + kk)) : zero;
        }
#pragma unroll
        for (int u = 0; u < GEMV_UNROLL; u++) {
            const int kk = (c0 + u * GEMV_WARPS) * 32;
            vx[u] = hasX && kk + q * 8 < k ? __ldg(reinterpret_cast<const uint4*>(xr + kk)) : zero;
        }
#pragma unroll
        for (int u = 0; u < GEMV_UNROLL; u++) {
            const unsigned a0[4] = {va[u].x, vb[u].x, va[u].y, vb[u].y}, b0[2] = {vx[u].x, vx[u].y};
            const unsigned a1[4] = {va[u].z, vb[u].z, va[u].w, vb[u].w}, b1[2] = {vx[u].z, vx[u].w};
            mma_16816(acc, a0, b0);
            mma_16816(acc, a1, b1);
        }
    }
    // acc[e] is row g (+8 for e >= 2), token 2q + e % 2 of this warp's k chunks
#pragma unroll
    for (int e = 0; e < 4; e++) partial[warp][lane][e] = acc[e];
    __syncthreads();
    if (SWIGLU) {
        if (threadIdx.x < 64) {
            const int l = threadIdx.x >> 1, e = threadIdx.x & 1;
            const long long row = row0 + (l >> 2);
            const int token = 2 * (l & 3) + e;
            if (row < n && token < t) {
                float gs = 0.f, us = 0.f;
#pragma unroll
                for (int i = 0; i < GEMV_WARPS; i++) {
                    gs += partial[i][l][e];
                    us += partial[i][l][e + 2];
                }
                const float a = __bfloat162float(__float2bfloat16_rn(gs));
                const float b = __bfloat162float(__float2bfloat16_rn(us));
                store(out + token * ldo + row, a / (1.0f + expf(-a)) * b);
            }
        }
    } else if (threadIdx.x < 128) {
        const int l = threadIdx.x >> 2, e = threadIdx.x & 3;
        const long long row = row0 + (l >> 2) + (e >> 1) * 8;
        const int token = 2 * (l & 3) + (e & 1);
        if (row < n && token < t) {
            float s = 0.f;
#pragma unroll
            for (int i = 0; i < GEMV_WARPS; i++) s += partial[i][l][e];
            store(out + token * ldo + row, s);
        }
    }
}

extern "C" __global__ void __launch_bounds__(32 * GEMV_WARPS, 2)
gemv_bf16(bf16* out, const bf16* x, const bf16* w, int t, int n, int k, long long ldo, long long ldx, long long ldw) {
    gemv_impl<bf16, false>(out, x, w, t, n, k, ldo, ldx, ldw);
}

extern "C" __global__ void __launch_bounds__(32 * GEMV_WARPS, 2)
gemv_f32(float* out, const bf16* x, const bf16* w, int t, int n, int k, long long ldo, long long ldx, long long ldw) {
    gemv_impl<float, false>(out, x, w, t, n, k, ldo, ldx, ldw);
}

// out [T, inter] (ldo) = silu(x·gateᵀ) * (x·upᵀ), gate_up w [2 * inter, K] (ldw); grid ceil(inter / 8)
extern "C" __global__ void __launch_bounds__(32 * GEMV_WARPS, 2)
gemv_swiglu_bf16(bf16* out, const bf16* x, const bf16* w, int t, int inter, int k, long long ldo, long long ldx,
                 long long ldw) {
    gemv_impl<bf16, true>(out, x, w, t, inter, k, ldo, ldx, ldw);
}
