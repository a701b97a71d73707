// Mixture of experts (Mixtral, DeepSeek): the router's top-k and the routed experts' SwiGLU MLPs
// as grouped GEMMs on tensor cores, with no host round trip (grids depend only on the shapes, so
// CUDA graphs capture a decode step; blocks with nothing to do exit at once).
//
//   moe_topk_{bf16,f32}  ids [T,k] (ldi), weights [T,k] f32 (ldw) <- logits [T,E] (ldl)
//       grid ceil(T / 4), block 128: one warp per token.
//   moe_align            tileExpert [maxTiles], sortedRow [maxTiles * MOE_BM] <- ids
//       grid 1, block 1024. The T*k (token, slot) assignments a = t*k + j grouped by expert, each
//       expert's group padded to a multiple of MOE_BM rows (vLLM's moe_align_block_size):
//       sortedRow[r] = a, or -1 for padding; tileExpert[i] = the expert of rows
//       [i*MOE_BM, (i+1)*MOE_BM), or -1 past the last tile. maxTiles = (T*k + E*(MOE_BM-1)) / MOE_BM
//       bounds the tile count for any routing.
//   moe_gate_up          act [maxTiles * MOE_BM, I] bf16 = silu(x Wgᵀ) * (x Wuᵀ) per tile's expert
//       grid (maxTiles, ceil(I / 64)), block 128. x rows gathered through sortedRow.
//   moe_down             ys [S, T*k, H] f32, row a of slice s = act[row of a] · W_downᵀ of a's
//       expert over the s-th K slice of I; grid (maxTiles, S * ceil(H / 128)), block 128.
//   moe_sum_bf16         out [T,H] = sum_j weights[t,j] * sum_s ys[s, t*k + j] (j, s ascending)
//       grid (ceil(H / 1024), min(T, 65535)), block 256.
//
// Determinism: the order of rows inside an expert's group depends on atomics, but a GEMM row's
// result depends only on that row (K is summed in one fixed order; the down GEMM's K slices are
// fixed by I, never by T), and every token sums its slices and k slots in order: the output is
// bit-identical from run to run, and a token's output does not depend on the rest of the batch.
// The GEMM blocks: 4 warps on a 64-row tile, 3 cp.async stages of 32 K-columns, fragments through
// ldmatrix, mma.sync m16n8k16 (bf16 in, f32 accumulate); sm_80+ (the gencodes are sm_80/sm_90a).
// Needs H and I multiples of 8 and 16-byte aligned rows of x and the weights (the host checks).
#include "common.cuh"
#include "mma.cuh"

#define MOE_BM 64          // rows of an M-tile; experts' groups are padded to it
#define MOE_BK 32          // K per shared-memory stage
#define MOE_LD (MOE_BK + 8) // smem row stride (bf16): rows 80 bytes apart, ldmatrix conflict-free
#define MOE_STAGES 3       // shared-memory stages (3 x 15 KiB: under the 48 KiB of static shared memory)
#define MOE_THREADS 128    // 4 warps as 2 (M) x 2 (N)
#define MOE_MAX_EXPERTS 1024
#define MOE_ALIGN_THREADS 1024

// ---- router -----------------------------------------------------------------------------------

// max that keeps a NaN (fmaxf drops it): a token with a NaN logit must not route silently
__device__ __forceinline__ float nan_max(float a, float b) { return (a != a || a > b) ? a : b; }

// Softmax over E in f32, then k rounds of a warp argmax: the j-th pick is the largest (p, -id)
// ordered after the (j-1)-th, so no per-expert state is kept and any E and k work. Ties go to the
// lower id (torch.topk). A token whose logits are not all finite gets expert 0 with weight NaN in
// every slot, so its output is NaN (the CPU backend throws; a kernel cannot).
template <typename InT>
__device__ void moe_topk(int* ids, float* weights, const InT* logits, int T, int E, int k, int renorm,
                         long long ldl, long long ldi, long long ldw) {
    const int lane = threadIdx.x & 31;
    const long long t = (long long) blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (t >= T) return;  // whole warps leave; no block barriers below
    const InT* row = logits + t * ldl;
    float mx = -INFINITY;
    for (int i = lane; i < E; i += 32) mx = nan_max(mx, to_f32(row[i]));
    for (int o = 16; o > 0; o >>= 1) mx = nan_max(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    float sum = 0.f;
    for (int i = lane; i < E; i += 32) sum += expf(to_f32(row[i]) - mx);
    sum = warp_sum(sum);
    float prevP = INFINITY, picked = 0.f;
    int prevId = -1;
    for (int j = 0; j < k; j++) {
        float bestP = -1.f;
        int bestId = 0x7fffffff;
        for (int i = lane; i < E; i += 32) {
            float p = expf(to_f32(row[i]) - mx);
            bool after = p < prevP || (p == prevP && i > prevId);
            if (after && (p > bestP || (p == bestP && i < bestId))) {
                bestP = p;
                bestId = i;
            }
        }
        for (int o = 16; o > 0; o >>= 1) {
            float op = __shfl_xor_sync(0xffffffffu, bestP, o);
            int oi = __shfl_xor_sync(0xffffffffu, bestId, o);
            if (op > bestP || (op == bestP && oi < bestId)) {
                bestP = op;
                bestId = oi;
            }
        }
        bool none = bestId == 0x7fffffff || !(mx > -INFINITY && mx < INFINITY);
        float w = none ? NAN : bestP / sum;
        if (lane == 0) {
            ids[t * ldi + j] = none ? 0 : bestId;
            weights[t * ldw + j] = w;
        }
        picked += w;
        prevP = bestP;
        prevId = bestId;
    }
    if (renorm && lane == 0) {
        for (int j = 0; j < k; j++) weights[t * ldw + j] /= picked;  // same thread wrote them
    }
}

extern "C" __global__ void moe_topk_bf16(int* ids, float* weights, const bf16* logits, int T, int E, int k,
                                         int renorm, long long ldl, long long ldi, long long ldw) {
    moe_topk<bf16>(ids, weights, logits, T, E, k, renorm, ldl, ldi, ldw);
}

extern "C" __global__ void moe_topk_f32(int* ids, float* weights, const float* logits, int T, int E, int k,
                                        int renorm, long long ldl, long long ldi, long long ldw) {
    moe_topk<float>(ids, weights, logits, T, E, k, renorm, ldl, ldi, ldw);
}

// ---- align: group the assignments by expert, padded to M-tiles -----------------------------------

// One block does it all (T*k is at most a few ten thousand): counts in shared memory, a serial
// prefix over E by thread 0, then each assignment takes a row of its expert's group by atomicAdd.
// ids outside [0, E) are left out (their slots add nothing; moe_sum skips them too).
extern "C" __global__ void __launch_bounds__(MOE_ALIGN_THREADS)
moe_align(int* tileExpert, int* sortedRow, const int* ids, int T, int k, int E, int maxTiles, long long ldi) {
    JLIGHT_BLOCK_SHARED int count[MOE_MAX_EXPERTS];
    JLIGHT_BLOCK_SHARED int cursor[MOE_MAX_EXPERTS];
    const int tid = threadIdx.x, nt = blockDim.x;
    const int n = T * k;
    for (int e = tid; e < E; e += nt) count[e] = 0;
    for (long long r = tid; r < (long long) maxTiles * MOE_BM; r += nt) sortedRow[r] = -1;
    for (int i = tid; i < maxTiles; i += nt) tileExpert[i] = -1;
    __syncthreads();
    for (int a = tid; a < n; a += nt) {
        int e = ids[(long long) (a / k) * ldi + a % k];
        if (e >= 0 && e < E) atomicAdd(&count[e], 1);
    }
    __syncthreads();
    if (tid == 0) {
        int start = 0;
        for (int e = 0; e < E; e++) {
            cursor[e] = start;
            start += (count[e] + MOE_BM - 1) / MOE_BM * MOE_BM;
        }
    }
    __syncthreads();
    for (int e = tid; e < E; e += nt) {
        int first = cursor[e] / MOE_BM, tiles = (count[e] + MOE_BM - 1) / MOE_BM;
        for (int i = 0; i < tiles; i++) tileExpert[first + i] = e;
    }
    __syncthreads();
    for (int a = tid; a < n; a += nt) {
        int e = ids[(long long) (a / k) * ldi + a % k];
        if (e >= 0 && e < E) sortedRow[atomicAdd(&cursor[e], 1)] = a;
    }
}

// ---- grouped GEMM tile --------------------------------------------------------------------------

#ifndef JLIGHT_EMU
// 16 bytes global -> shared without registers (sm_80+); !valid writes 16 zero bytes (src-size 0
// reads nothing from src). Completion is per commit group: cp_async_wait<N> leaves N in flight.
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, bool valid) {
    unsigned dst = (unsigned) __cvta_generic_to_shared(smem);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(gmem), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

// Four 8x8 bf16 matrices from shared memory: lane l gives the address of row l % 8 of matrix
// l / 8 (16-byte aligned); r[m] of lane l = matrix m, row l / 4, columns 2(l % 4) and +1 — the
// mma fragment layout.
__device__ __forceinline__ void ldmatrix_x4(unsigned* r, const bf16* p) {
    unsigned a = (unsigned) __cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
}
#endif

// One block computes rows [m0, m0 + MOE_BM) of one expert's group against NB weight matrices of
// that expert (gate and up: NB = 2; down: NB = 1), columns [n0, n0 + BN) of each, over the
// K columns [kBegin, kEnd) (ascending, so a row's sums never depend on the tile shape):
// acc[b] = A · W_bᵀ, A's rows gathered through aRow (null: padding, read as zeros), W_b's row c at
// w + (wBase + b * wMatRows + n0 + c) * ldw, rows c >= N - n0 read as zeros.
// Pipeline: MOE_STAGES shared-memory stages of MOE_BK columns filled by cp.async, MOE_STAGES - 1
// K-slices in flight while one is multiplied (decode streams the weights: the deeper the queue,
// the closer to the memory's bandwidth). Warp (wm, wn) owns rows wm*32 .. +32 and columns
// wn*BN/2 .. +BN/2 of each matrix.
template <int BN, int NB>
struct MoeTile {
    static constexpr int WN = BN / 2;                                   // columns per warp
    static constexpr int A_CHUNKS = MOE_BM * MOE_BK / 8 / MOE_THREADS;  // 16-byte copies per thread
    static constexpr int B_CHUNKS = NB * BN * MOE_BK / 8 / MOE_THREADS;
    static constexpr int A_STAGE = MOE_BM * MOE_LD;                     // bf16 per stage
    static constexpr int B_STAGE = NB * BN * MOE_LD;
    float acc[NB][2][WN / 8][4];
};

template <int BN, int NB>
__device__ __forceinline__ void moe_tile_mma(MoeTile<BN, NB>& tile, const bf16* const* aRow, const bf16* w,
                                             long long ldw, long long wBase, long long wMatRows, int n0, int N,
                                             int kBegin, int kEnd, bf16* sA, bf16* sB) {
    typedef MoeTile<BN, NB> Tl;
    constexpr int CPR = MOE_BK / 8;  // chunks per row
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int wm = warp >> 1, wn = warp & 1;
#pragma unroll
    for (int b = 0; b < NB; b++)
#pragma unroll
        for (int mi = 0; mi < 2; mi++)
#pragma unroll
            for (int j = 0; j < Tl::WN / 8; j++) tile.acc[b][mi][j][0] = tile.acc[b][mi][j][1] = tile.acc[b][mi][j][2] = tile.acc[b][mi][j][3] = 0.f;
    // this thread's source rows (fixed over K)
    const bf16* aSrc[Tl::A_CHUNKS];
    const bf16* bSrc[Tl::B_CHUNKS];
#pragma unroll
    for (int i = 0; i < Tl::A_CHUNKS; i++) aSrc[i] = aRow[(tid + i * MOE_THREADS) / CPR];
#pragma unroll
    for (int i = 0; i < Tl::B_CHUNKS; i++) {
        int r = (tid + i * MOE_THREADS) / CPR;  // row in the stacked [NB * BN] B tile
        int b = r / BN, c = r % BN;
        bSrc[i] = n0 + c < N ? w + (wBase + b * wMatRows + n0 + c) * ldw : nullptr;
    }
    const int nk = (kEnd - kBegin + MOE_BK - 1) / MOE_BK;
    // queues the copies of K-slice kt into stage kt % MOE_STAGES (zeros past kEnd and for null rows)
    auto issue = [&](int kt) {
        const int k0 = kBegin + kt * MOE_BK, st = kt % MOE_STAGES;
#pragma unroll
        for (int i = 0; i < Tl::A_CHUNKS; i++) {
            int c = tid + i * MOE_THREADS, col = k0 + (c % CPR) * 8;
            bool ok = aSrc[i] != nullptr && col < kEnd;
            cp_async16(sA + st * Tl::A_STAGE + (c / CPR) * MOE_LD + (c % CPR) * 8, ok ? aSrc[i] + col : w, ok);
        }
#pragma unroll
        for (int i = 0; i < Tl::B_CHUNKS; i++) {
            int c = tid + i * MOE_THREADS, col = k0 + (c % CPR) * 8;
            bool ok = bSrc[i] != nullptr && col < kEnd;
            cp_async16(sB + st * Tl::B_STAGE + (c / CPR) * MOE_LD + (c % CPR) * 8, ok ? bSrc[i] + col : w, ok);
        }
    };
    // one commit group per slice, empty past the end, so "wait until MOE_STAGES - 2 groups are
    // in flight" always means "slice kt has landed"
#pragma unroll
    for (int s = 0; s < MOE_STAGES - 1; s++) {
        if (s < nk) issue(s);
        cp_async_commit();
    }
    for (int kt = 0; kt < nk; kt++) {
        cp_async_wait<MOE_STAGES - 2>();
        __syncthreads();  // slice kt visible to all; every warp is done with slice kt - 1's stage
        if (kt + MOE_STAGES - 1 < nk) issue(kt + MOE_STAGES - 1);  // into slice kt - 1's stage
        cp_async_commit();
        const bf16* a = sA + (kt % MOE_STAGES) * Tl::A_STAGE;
        const bf16* bb = sB + (kt % MOE_STAGES) * Tl::B_STAGE;
#pragma unroll
        for (int kk = 0; kk < MOE_BK; kk += 16) {
            // A fragments of the warp's two m16 tiles: matrices (rows 0-7 | 8-15) x (k 0-7 | 8-15)
            unsigned af[2][4];
#pragma unroll
            for (int mi = 0; mi < 2; mi++) {
                int row = wm * 32 + mi * 16 + (lane & 7) + ((lane >> 3) & 1) * 8;
                ldmatrix_x4(af[mi], a + row * MOE_LD + kk + (lane >> 4) * 8);
            }
#pragma unroll
            for (int b = 0; b < NB; b++) {
#pragma unroll
                for (int j = 0; j < Tl::WN / 8; j += 2) {
                    // B fragments of n8 tiles j and j + 1: matrices (tile j | j+1) x (k 0-7 | 8-15)
                    unsigned bfr[4];
                    int n = b * BN + wn * Tl::WN + j * 8 + (lane & 7) + (lane >> 4) * 8;
                    ldmatrix_x4(bfr, bb + n * MOE_LD + kk + ((lane >> 3) & 1) * 8);
#pragma unroll
                    for (int mi = 0; mi < 2; mi++) {
                        mma_16816(tile.acc[b][mi][j], af[mi], bfr);
                        mma_16816(tile.acc[b][mi][j + 1], af[mi], bfr + 2);
                    }
                }
            }
        }
    }
    cp_async_wait<0>();  // only empty groups are left; nothing may be in flight at exit
}

// The gathered rows of tile blockIdx.x (null for padding) into the shared aRow; the tile's expert,
// or -1 when the tile is past the routed rows (the whole block returns).
__device__ __forceinline__ int moe_tile_rows(const bf16** aRow, int* rowAssign, const int* tileExpert,
                                             const int* sortedRow, const bf16* a, long long lda, int k,
                                             bool byToken) {
    const int tile = blockIdx.x;
    const int e = tileExpert[tile];
    if (e < 0) return -1;
    for (int r = threadIdx.x; r < MOE_BM; r += blockDim.x) {
        long long row = (long long) tile * MOE_BM + r;
        int as = sortedRow[row];
        rowAssign[r] = as;
        aRow[r] = as < 0 ? nullptr : a + (byToken ? (long long) (as / k) : row) * lda;
    }
    __syncthreads();
    return e;
}

// The grouped GEMM of tile blockIdx.x (one expert's rows), columns [n0, n0 + BN) of NB matrices
// of the tile's expert (rows e*wExpertRows + b*wMatRows + n of w), K columns [kBegin, kEnd);
// then store(r, a, n, v) for each routed row r of the tile (assignment a) and each even column
// n < N: v[b][0..1] = columns n, n+1 of matrix b (N is even, so n + 1 < N too).
template <int BN, int NB, typename Store>
__device__ __forceinline__ void moe_grouped_gemm(const bf16* a, long long lda, int k, bool byToken, const bf16* w,
                                                 long long ldw, long long wExpertRows, long long wMatRows, int n0,
                                                 int N, int kBegin, int kEnd, const int* tileExpert,
                                                 const int* sortedRow, Store store) {
    JLIGHT_BLOCK_SHARED const bf16* aRow[MOE_BM];
    JLIGHT_BLOCK_SHARED int rowAssign[MOE_BM];
    JLIGHT_BLOCK_SHARED uint4 sA[MOE_STAGES * MOE_BM * MOE_LD / 8];  // uint4: 16-byte aligned for cp.async
    JLIGHT_BLOCK_SHARED uint4 sB[MOE_STAGES * NB * BN * MOE_LD / 8];
    const int e = moe_tile_rows(aRow, rowAssign, tileExpert, sortedRow, a, lda, k, byToken);
    if (e < 0) return;
    MoeTile<BN, NB> tile;
    moe_tile_mma<BN, NB>(tile, aRow, w, ldw, e * wExpertRows, wMatRows, n0, N, kBegin, kEnd, reinterpret_cast<bf16*>(sA),
                         reinterpret_cast<bf16*>(sB));
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tq = lane & 3;
    const int wm = warp >> 1, wn = warp & 1;
#pragma unroll
    for (int mi = 0; mi < 2; mi++) {
#pragma unroll
        for (int half = 0; half < 2; half++) {  // the lane's rows g and g + 8 of the m16 tile
            const int r = wm * 32 + mi * 16 + g + half * 8;
            const int as = rowAssign[r];
            if (as < 0) continue;
#pragma unroll
            for (int j = 0; j < MoeTile<BN, NB>::WN / 8; j++) {
                const int n = n0 + wn * MoeTile<BN, NB>::WN + j * 8 + 2 * tq;
                if (n >= N) continue;
                float v[NB][2];
#pragma unroll
                for (int b = 0; b < NB; b++) {
                    v[b][0] = tile.acc[b][mi][j][half * 2];
                    v[b][1] = tile.acc[b][mi][j][half * 2 + 1];
                }
                store(r, as, n, v);
            }
        }
    }
}

// act[r, n] = silu(x[t(r)] · gate_e[n]) * (x[t(r)] · up_e[n]) for the tile's rows r and columns n
// of [n0, n0 + 64); gateUp row e*2I + n is gate_e[n], row e*2I + I + n is up_e[n]. Padding rows
// are not written (moe_down reads them as zeros).
extern "C" __global__ void __launch_bounds__(MOE_THREADS)
moe_gate_up(bf16* act, const bf16* x, const bf16* gateUp, const int* tileExpert, const int* sortedRow, int k,
            int H, int I, long long ldx, long long ldgu) {
    moe_grouped_gemm<64, 2>(x, ldx, k, true, gateUp, ldgu, 2LL * I, I, blockIdx.y * 64, I, 0, H, tileExpert, sortedRow,
                            [&](int r, int, int n, const float (&v)[2][2]) {
                                bf16* dst = act + ((long long) blockIdx.x * MOE_BM + r) * I + n;
                                *reinterpret_cast<bf162*>(dst) =
                                    __floats2bfloat162_rn(v[0][0] / (1.0f + expf(-v[0][0])) * v[1][0],
                                                          v[0][1] / (1.0f + expf(-v[0][1])) * v[1][1]);
                            });
}

// ys[s, a, n] = act[r(a), K slice s] · down_e[n, K slice s] (f32) for the tile's assignments a,
// columns n of [n0, n0 + 128) and the K slice s = [s*kChunk, (s+1)*kChunk) of I: blockIdx.y =
// s * ceil(H / 128) + n-tile. down row e*H + n is down_e[n]. The host fixes the slices by I
// alone (never by T), so a token's sums are the same in any batch; the slices give a decode
// step enough blocks in flight to stream the down weights (one expert's [H, I] in 64-row tiles
// alone would be far fewer blocks than SMs). moe_sum adds the slices in order.
extern "C" __global__ void __launch_bounds__(MOE_THREADS)
moe_down(float* ys, const bf16* act, const bf16* down, const int* tileExpert, const int* sortedRow, int H, int I,
         long long lddn, int kChunk, long long sliceStride) {
    constexpr int BN = 128;
    const int nTiles = (H + BN - 1) / BN;
    const int slice = blockIdx.y / nTiles, n0 = (blockIdx.y % nTiles) * BN;
    const int kBegin = slice * kChunk, kEnd = min(I, kBegin + kChunk);
    float* out = ys + slice * sliceStride;
    moe_grouped_gemm<BN, 1>(act, I, 1, false, down, lddn, H, 0, n0, H, kBegin, kEnd, tileExpert, sortedRow,
                            [&](int, int a, int n, const float (&v)[1][2]) {
                                *reinterpret_cast<float2*>(out + (long long) a * H + n) = make_float2(v[0][0], v[0][1]);
                            });
}

// ---- combine ------------------------------------------------------------------------------------

// out[t, c] = sum_j weights[t, j] * (sum_s ys[s, t*k + j, c]), j and s ascending; slots whose id
// is outside [0, E) add nothing (moe_align left them out, so their ys rows are stale).
extern "C" __global__ void moe_sum_bf16(bf16* out, const float* ys, const int* ids, const float* weights, int T,
                                        int k, int H, int E, long long ldo, long long ldi, long long ldw, int slices,
                                        long long sliceStride) {
    for (int t = blockIdx.y; t < T; t += gridDim.y) {
        for (int c = (blockIdx.x * blockDim.x + threadIdx.x) * 4; c < H; c += gridDim.x * blockDim.x * 4) {
            float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
            for (int j = 0; j < k; j++) {
                int e = ids[(long long) t * ldi + j];
                if (e < 0 || e >= E) continue;
                float w = weights[(long long) t * ldw + j];
                const float* yr = ys + ((long long) t * k + j) * H + c;
                float4 y = *reinterpret_cast<const float4*>(yr);
                for (int s = 1; s < slices; s++) {
                    float4 ys_ = *reinterpret_cast<const float4*>(yr + s * sliceStride);
                    y.x += ys_.x;
                    y.y += ys_.y;
                    y.z += ys_.z;
                    y.w += ys_.w;
                }
                acc.x = fmaf(y.x, w, acc.x);
                acc.y = fmaf(y.y, w, acc.y);
                acc.z = fmaf(y.z, w, acc.z);
                acc.w = fmaf(y.w, w, acc.w);
            }
            bf16* o = out + (long long) t * ldo + c;
            store(o, acc.x);
            store(o + 1, acc.y);
            store(o + 2, acc.z);
            store(o + 3, acc.w);
        }
    }
}
