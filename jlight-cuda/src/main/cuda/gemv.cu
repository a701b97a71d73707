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
// gemv_norm_bf16 / gemv_norm_swiglu_bf16 / gemv_add_bf16: the RMSNorm before a matmul and the
// residual add after one, taken into the GEMV so a decode step launches no norm kernels (below).
#include "common.cuh"
#include "rms.cuh"

#define GEMV_WARPS 8
#define GEMV_UNROLL 8
#define GEMV_ROWS 16

#include "mma.cuh"

// The GEMV's x rows are the tokens of one mma's n = 8 columns
#define GEMV_MAX_T 8
static_assert(GEMV_WARPS >= GEMV_MAX_T, "gemv_inv_rms: one warp finishes each token's sum");

// Row stride (elements) of the normed rows in shared memory: a multiple of 64 plus 32, so the two
// tokens' rows that a quarter-warp's 16-byte loads touch (64 bytes each) fall in different banks.
// CudaBackend.gemvNormSmemBytes repeats it: the dynamic shared memory is t rows of this.
__device__ __forceinline__ int gemv_norm_stride(int k) { return ((k + 63) & ~63) + 32; }

// inv[j] (shared) = 1 / rms of token row j of x [t, k] (ldx), as rms_norm_bf16 launched with
// vthreads threads computes it (rms.cuh's order; vthreads a multiple of 32, at most 1024):
// virtual thread v's partial sum is taken by real thread v % blockDim.x, whole warps at a time,
// so the warp sums and the sum over warps are block_sum's. Ends with a barrier. Needs k % 8 == 0
// and 16-byte aligned rows of x.
__device__ __forceinline__ void gemv_inv_rms(float* inv, const bf16* x, int t, int k, long long ldx, float eps,
                                             int vthreads) {
    JLIGHT_BLOCK_SHARED float sums[GEMV_MAX_T][32];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, n8 = k >> 3;
    for (int j = 0; j < t; j++) {
        for (int v = threadIdx.x; v < vthreads; v += blockDim.x) {
            const float s = warp_sum(rms_partial(x + j * ldx, n8, v, vthreads));
            if (lane == 0) sums[j][v >> 5] = s;
        }
    }
    __syncthreads();
    if (warp < t) {
        const float s = warp_sum(lane < (vthreads >> 5) ? sums[warp][lane] : 0.0f);
        if (lane == 0) inv[warp] = rsqrtf(s / k + eps);
    }
    __syncthreads();
}

// xs [t, gemv_norm_stride(k)] (shared) = rmsNorm(x [t, k] (ldx)) * nw [k], bit-identical to
// rms_norm_bf16 launched with vthreads threads. Ends with a barrier. Needs 16-byte aligned nw.
__device__ __forceinline__ void gemv_norm_rows(bf16* xs, const bf16* x, const bf16* nw, int t, int k, long long ldx,
                                               float eps, int vthreads) {
    JLIGHT_BLOCK_SHARED float inv[GEMV_MAX_T];
    gemv_inv_rms(inv, x, t, k, ldx, eps, vthreads);
    const int lds = gemv_norm_stride(k), n8 = k >> 3;
    for (int j = 0; j < t; j++) {
        const uint4* row = reinterpret_cast<const uint4*>(x + j * ldx);
        uint4* dst = reinterpret_cast<uint4*>(xs + j * lds);
        for (int c = threadIdx.x; c < n8; c += blockDim.x) {
            dst[c] = rms_scale8(row[c], reinterpret_cast<const uint4*>(nw)[c], inv[j]);
        }
    }
    __syncthreads();
}

// SWIGLU: w is gate_up [2n, K] (n gate rows, then n up rows) and out [T, n] = silu(x·gateᵀ) *
// (x·upᵀ): a block takes gate rows row0..row0+7 as its mma rows 0-7 and the matching up rows as
// rows 8-15, so both halves of an output meet in the block. Gate and up are rounded to bf16
// before silu·mul, as the unfused gemv_bf16 + silu_mul_bf16 pair does: same bits, one launch
// less and no [T, 2n] intermediate.
// NORM: x is the residual stream and the product's x is rmsNorm(x) * nw (nw [k], eps, and
// norm_threads = the block size rms_norm_bf16 would have): every block first norms the T rows
// into shared memory (gemv_norm_rows; T rows of k bf16 read per block, from L2 after the first
// blocks) and the main loop loads x from there. Bit-identical to rms_norm_bf16 into a buffer, then
// this GEMV on it. The weight loads are untouched (see the note at pdl_entry). Norming each word
// in the main loop instead, as it is loaded, took 128 registers and spilled (ptxas -v), and left
// 28 of 32 lanes idle at T = 1; the shared rows cost T * (k + 32..96) * 2 bytes (the host fuses
// only where that fits the 48 KiB a launch gets without opting in).
// ADD: out is the residual stream; out = bf16(out + bf16(sum)), as gemv_bf16 into a delta then
// add_bf16 (add_rms_norm_bf16's add) round it. One thread reads and writes each element.
// tile: the block's 16 rows (8 gate/up pairs) are rows tile * 16 (8) on; FIRST: the block's first
// tile, which waits for the previous kernel and norms the rows (a later one finds them in shared
// memory: gemv_norm_tiles).
template <typename OutT, bool SWIGLU, bool NORM = false, bool ADD = false, bool FIRST = true>
__device__ __forceinline__ void gemv_impl(OutT* out, const bf16* x, const bf16* w, int t, int n, int k, long long ldo,
                                          long long ldx, long long ldw, long long tile, const bf16* nw = nullptr,
                                          float eps = 0.0f, int norm_threads = 0) {
    static_assert(!(ADD && SWIGLU), "the residual add takes the plain product");
    JLIGHT_BLOCK_SHARED float partial[GEMV_WARPS][32][4];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int g = lane >> 2, q = lane & 3;
    const long long row0 = tile * (SWIGLU ? GEMV_ROWS / 2 : GEMV_ROWS);
    const long long ra = min(row0 + g, (long long) n - 1);
    const long long rb = SWIGLU ? ra + n : min(row0 + g + 8, (long long) n - 1);
    const bf16* wa = w + ra * ldw + q * 8;
    const bf16* wb = w + rb * ldw + q * 8;
    const bool hasX = g < t;
    extern __shared__ uint4 gemv_xs[];  // NORM: the normed rows, [t, gemv_norm_stride(k)] bf16
    const bf16* xr = NORM ? reinterpret_cast<const bf16*>(gemv_xs) + (hasX ? g : 0) * gemv_norm_stride(k) + q * 8
                          : x + (hasX ? g : 0) * ldx + q * 8;
    const int chunks = (k + 31) >> 5;
    const uint4 zero = make_uint4(0, 0, 0, 0);
    float acc[4] = {0.f, 0.f, 0.f, 0.f};
    // pdl_entry() before any load: issuing the first chunks' weight loads ahead of it (weights are
    // never written in a step) measured 17 % slower at K = 14336 on the H100 (down_proj 53.2 us
    // against 45.5 us with this loop untouched), more than the overlap it bought.
    if (FIRST) {
        pdl_entry();
        if (NORM) gemv_norm_rows(reinterpret_cast<bf16*>(gemv_xs), x, nw, t, k, ldx, eps, norm_threads);
    }
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
            const uint4* p = reinterpret_cast<const uint4*>(xr + kk);
            vx[u] = hasX && kk + q * 8 < k ? (NORM ? *p : __ldg(p)) : zero;
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
            OutT* o = out + token * ldo + row;
            store(o, ADD ? to_f32(*o) + __bfloat162float(__float2bfloat16_rn(s)) : s);
        }
    }
}

extern "C" __global__ void __launch_bounds__(32 * GEMV_WARPS, 2)
gemv_bf16(bf16* out, const bf16* x, const bf16* w, int t, int n, int k, long long ldo, long long ldx, long long ldw) {
    gemv_impl<bf16, false>(out, x, w, t, n, k, ldo, ldx, ldw, blockIdx.x);
}

extern "C" __global__ void __launch_bounds__(32 * GEMV_WARPS, 2)
gemv_f32(float* out, const bf16* x, const bf16* w, int t, int n, int k, long long ldo, long long ldx, long long ldw) {
    gemv_impl<float, false>(out, x, w, t, n, k, ldo, ldx, ldw, blockIdx.x);
}

// out [T, inter] (ldo) = silu(x·gateᵀ) * (x·upᵀ), gate_up w [2 * inter, K] (ldw); grid ceil(inter / 8)
extern "C" __global__ void __launch_bounds__(32 * GEMV_WARPS, 2)
gemv_swiglu_bf16(bf16* out, const bf16* x, const bf16* w, int t, int inter, int k, long long ldo, long long ldx,
                 long long ldw) {
    gemv_impl<bf16, true>(out, x, w, t, inter, k, ldo, ldx, ldw, blockIdx.x);
}

// res [T, n] (ldr) = bf16(res + bf16(x · wᵀ)): o_proj and down_proj adding into the residual
// stream; grid ceil(n / 16)
extern "C" __global__ void __launch_bounds__(32 * GEMV_WARPS, 2)
gemv_add_bf16(bf16* res, const bf16* x, const bf16* w, int t, int n, int k, long long ldr, long long ldx,
              long long ldw) {
    gemv_impl<bf16, false, false, true>(res, x, w, t, n, k, ldr, ldx, ldw, blockIdx.x);
}

// The NORM GEMVs over all tiles of n rows with any grid: a block norms the rows once and then
// takes tiles blockIdx.x, + gridDim.x, ... so that a grid of a few blocks per SM pays the
// prologue (T rows read, summed and normed) once per block rather than once per 16 rows (gate/up
// at Llama-3-8B has 1792 tiles); the host may also launch one block per tile.
template <bool SWIGLU>
__device__ void gemv_norm_tiles(bf16* out, const bf16* res, const bf16* nw, const bf16* w, int t, int n, int k,
                                long long ldo, long long ldr, long long ldw, float eps, int norm_threads) {
    gemv_impl<bf16, SWIGLU, true>(out, res, w, t, n, k, ldo, ldr, ldw, blockIdx.x, nw, eps, norm_threads);
    const long long tiles = ((long long) n + (SWIGLU ? GEMV_ROWS / 2 : GEMV_ROWS) - 1) / (SWIGLU ? GEMV_ROWS / 2 : GEMV_ROWS);
    for (long long tile = blockIdx.x + gridDim.x; tile < tiles; tile += gridDim.x) {
        __syncthreads();  // the tile before has read `partial` in its epilogue
        gemv_impl<bf16, SWIGLU, true, false, false>(out, res, w, t, n, k, ldo, ldr, ldw, tile, nw, eps, norm_threads);
    }
}

// out [T, n] (ldo) = (rmsNorm(res [T, k] (ldr)) * nw [k]) · wᵀ, norm_threads as rms_norm_bf16's
// block for k columns; grid up to ceil(n / 16), dynamic smem t * gemv_norm_stride(k) * 2 bytes
extern "C" __global__ void __launch_bounds__(32 * GEMV_WARPS, 2)
gemv_norm_bf16(bf16* out, const bf16* res, const bf16* nw, const bf16* w, int t, int n, int k, long long ldo,
               long long ldr, long long ldw, float eps, int norm_threads) {
    gemv_norm_tiles<false>(out, res, nw, w, t, n, k, ldo, ldr, ldw, eps, norm_threads);
}

// out [T, inter] (ldo) = silu·mul of (rmsNorm(res) * nw) · gate_upᵀ (gemv_swiglu_bf16 on the
// normed rows); grid up to ceil(inter / 8), dynamic smem as gemv_norm_bf16
extern "C" __global__ void __launch_bounds__(32 * GEMV_WARPS, 2)
gemv_norm_swiglu_bf16(bf16* out, const bf16* res, const bf16* nw, const bf16* w, int t, int inter, int k,
                      long long ldo, long long ldr, long long ldw, float eps, int norm_threads) {
    gemv_norm_tiles<true>(out, res, nw, w, t, inter, k, ldo, ldr, ldw, eps, norm_threads);
}
