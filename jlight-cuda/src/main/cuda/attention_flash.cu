// Flash attention (FlashAttention-2's loop) on tensor cores for prefill: causal paged attention
// over the flat varlen batch, same layouts as attention.cu. One block per (query tile, query
// head): a tile is up to 64 consecutive tokens of one sequence (the host lists the tiles: tileSeq,
// tileStart); 4 warps, 16 query rows each. The block walks the keys 64 at a time up to its last
// row's position: K and V rows are gathered through the block table into shared memory, S = Q Kᵀ
// and O += P V run as mma.sync m16n8k16 (bf16 in, f32 accumulate), the softmax is online per row
// in registers (log2 units). Q fragments come straight from global memory.
// Kernels flash_attention_d{64,128}_bf16; grid (numTiles, numHeads), block 128,
// dynamic smem 2 * 64 * (D + 8) bf16 (K and V tiles, rows padded against bank conflicts).
#include "common.cuh"
#include "mma.cuh"

#define FLASH_BM 64
#define FLASH_BN 64

__device__ __forceinline__ unsigned pack_bf16(float lo, float hi) {
    bf162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<unsigned*>(&v);
}

__device__ __forceinline__ unsigned pack_raw(bf16 lo, bf16 hi) {
    unsigned short a = *reinterpret_cast<unsigned short*>(&lo);
    unsigned short b = *reinterpret_cast<unsigned short*>(&hi);
    return (unsigned) a | ((unsigned) b << 16);
}

template <int D>
__device__ void flash_attention(bf16* out, const bf16* q, const bf16* kPool, const bf16* vPool,
                                const int* queryStart, const int* seqLens, const int* blockTables,
                                const int* tileSeq, const int* tileStart, int numKvHeads, int group,
                                int blockSize, int maxBlocks, float scale, long long ldo, long long ldq) {
    extern __shared__ __align__(16) unsigned char flash_smem[];
    constexpr int LD = D + 8;  // smem row stride (bf16)
    bf16* sK = reinterpret_cast<bf16*>(flash_smem);
    bf16* sV = sK + FLASH_BN * LD;
    const int tile = blockIdx.x, h = blockIdx.y;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int g = lane >> 2, tq = lane & 3;
    const int s = tileSeq[tile];
    const int t0 = tileStart[tile];
    const int qEnd = queryStart[s + 1];
    const int t1 = min(t0 + FLASH_BM, qEnd);
    const int first = seqLens[s] - (qEnd - queryStart[s]) - queryStart[s];  // pos(t) = first + t
    const int lastPos = first + t1 - 1;
    const int kvh = h / group;
    const int kvDim = numKvHeads * D;
    const int* table = blockTables + (long long) s * maxBlocks;
    const float qscale = scale * 1.4426950408889634f;

    // this lane's two query rows (r0 = g, r1 = g + 8 of the warp's 16) and their positions
    const int tr0 = t0 + warp * 16 + g, tr1 = tr0 + 8;
    const bool v0 = tr0 < t1, v1 = tr1 < t1;
    const int p0 = first + tr0, p1 = first + tr1;

    // Q fragments for all D/16 k-steps (rows past the tile's end read as zeros)
    unsigned qa[D / 16][4];
    {
        const bf16* q0 = q + (long long) tr0 * ldq + (long long) h * D;
        const bf16* q1 = q + (long long) tr1 * ldq + (long long) h * D;
#pragma unroll
        for (int kk = 0; kk < D / 16; kk++) {
            int c = kk * 16 + 2 * tq;
            qa[kk][0] = v0 ? *reinterpret_cast<const unsigned*>(q0 + c) : 0u;
            qa[kk][1] = v1 ? *reinterpret_cast<const unsigned*>(q1 + c) : 0u;
            qa[kk][2] = v0 ? *reinterpret_cast<const unsigned*>(q0 + c + 8) : 0u;
            qa[kk][3] = v1 ? *reinterpret_cast<const unsigned*>(q1 + c + 8) : 0u;
        }
    }
    float o[D / 8][4];
#pragma unroll
    for (int n = 0; n < D / 8; n++) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;
    float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.f, l1 = 0.f;

    const int keyTiles = (lastPos + FLASH_BN) / FLASH_BN;  // keys 0..lastPos
    constexpr int CHUNKS = FLASH_BN * D / 8;               // 16-byte chunks per tile
    for (int kt = 0; kt < keyTiles; kt++) {
        const int kbase = kt * FLASH_BN;
        __syncthreads();  // the previous tile's readers are done
        for (int c = threadIdx.x; c < CHUNKS; c += blockDim.x) {
            int row = c / (D / 8), col = (c % (D / 8)) * 8;
            int p = kbase + row;
            uint4 kv = make_uint4(0, 0, 0, 0), vv = make_uint4(0, 0, 0, 0);
            if (p <= lastPos) {
                long long slot = (long long) table[p / blockSize] * blockSize + (p % blockSize);
                kv = *reinterpret_cast<const uint4*>(kPool + slot * kvDim + (long long) kvh * D + col);
                vv = *reinterpret_cast<const uint4*>(vPool + slot * kvDim + (long long) kvh * D + col);
            }
            *reinterpret_cast<uint4*>(sK + row * LD + col) = kv;
            *reinterpret_cast<uint4*>(sV + row * LD + col) = vv;
        }
        __syncthreads();
        // S = Q Kᵀ for this warp's 16 rows and the tile's 64 keys (8 n-tiles of 8 keys)
        float sc[FLASH_BN / 8][4];
#pragma unroll
        for (int j = 0; j < FLASH_BN / 8; j++) {
            sc[j][0] = sc[j][1] = sc[j][2] = sc[j][3] = 0.f;
            const bf16* kr = sK + (j * 8 + g) * LD;
#pragma unroll
            for (int kk = 0; kk < D / 16; kk++) {
                unsigned b[2];
                b[0] = *reinterpret_cast<const unsigned*>(kr + kk * 16 + 2 * tq);
                b[1] = *reinterpret_cast<const unsigned*>(kr + kk * 16 + 2 * tq + 8);
                mma_16816(sc[j], qa[kk], b);
            }
        }
        // scale, causal mask, row maxima (a row's 64 scores sit in the 4 lanes of a quad)
        float mx0 = m0, mx1 = m1;
#pragma unroll
        for (int j = 0; j < FLASH_BN / 8; j++) {
            int key = kbase + j * 8 + 2 * tq;
#pragma unroll
            for (int e = 0; e < 2; e++) {
                sc[j][e] = (v0 && key + e <= p0) ? sc[j][e] * qscale : -INFINITY;
                sc[j][2 + e] = (v1 && key + e <= p1) ? sc[j][2 + e] * qscale : -INFINITY;
                mx0 = fmaxf(mx0, sc[j][e]);
                mx1 = fmaxf(mx1, sc[j][2 + e]);
            }
        }
        mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
        mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
        mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
        mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
        // rows with nothing visible yet (past the tile's end) keep -inf: use 0 so no inf - inf
        const float u0 = mx0 == -INFINITY ? 0.f : mx0, u1 = mx1 == -INFINITY ? 0.f : mx1;
        const float c0 = exp2f(m0 - u0), c1 = exp2f(m1 - u1);
        m0 = mx0;
        m1 = mx1;
        l0 *= c0;
        l1 *= c1;
#pragma unroll
        for (int n = 0; n < D / 8; n++) {
            o[n][0] *= c0;
            o[n][1] *= c0;
            o[n][2] *= c1;
            o[n][3] *= c1;
        }
        // P = exp2(S - m) as bf16 A fragments (two n-tiles of S make one 16-key k-step)
        unsigned pa[FLASH_BN / 16][4];
#pragma unroll
        for (int j = 0; j < FLASH_BN / 8; j++) {
            float e0 = exp2f(sc[j][0] - u0), e1 = exp2f(sc[j][1] - u0);
            float e2 = exp2f(sc[j][2] - u1), e3 = exp2f(sc[j][3] - u1);
            l0 += e0 + e1;
            l1 += e2 + e3;
            pa[j / 2][(j % 2) * 2 + 0] = pack_bf16(e0, e1);
            pa[j / 2][(j % 2) * 2 + 1] = pack_bf16(e2, e3);
        }
        // O += P V: B[k][n] = V[key k][dim n], two keys (2tq, 2tq+1) of one dim per register
#pragma unroll
        for (int n = 0; n < D / 8; n++) {
            const bf16* vc = sV + n * 8 + g;
#pragma unroll
            for (int kk = 0; kk < FLASH_BN / 16; kk++) {
                int k0 = kk * 16 + 2 * tq;
                unsigned b[2];
                b[0] = pack_raw(vc[k0 * LD], vc[(k0 + 1) * LD]);
                b[1] = pack_raw(vc[(k0 + 8) * LD], vc[(k0 + 9) * LD]);
                mma_16816(o[n], pa[kk], b);
            }
        }
    }
    // the row sums are split over the quad's lanes
    l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
    l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
    const float inv0 = l0 > 0.f ? 1.f / l0 : 0.f, inv1 = l1 > 0.f ? 1.f / l1 : 0.f;
#pragma unroll
    for (int n = 0; n < D / 8; n++) {
        int col = h * D + n * 8 + 2 * tq;
        if (v0) {
            *reinterpret_cast<bf162*>(out + (long long) tr0 * ldo + col) =
                __floats2bfloat162_rn(o[n][0] * inv0, o[n][1] * inv0);
        }
        if (v1) {
            *reinterpret_cast<bf162*>(out + (long long) tr1 * ldo + col) =
                __floats2bfloat162_rn(o[n][2] * inv1, o[n][3] * inv1);
        }
    }
}

#define FLASH_ATTENTION(D)                                                                                   \
    extern "C" __global__ void __launch_bounds__(128) flash_attention_d##D##_bf16(                          \
        bf16* out, const bf16* q, const bf16* kPool, const bf16* vPool, const int* queryStart,              \
        const int* seqLens, const int* blockTables, const int* tileSeq, const int* tileStart, int numKvHeads, \
        int group, int blockSize, int maxBlocks, float scale, long long ldo, long long ldq) {                \
        flash_attention<D>(out, q, kPool, vPool, queryStart, seqLens, blockTables, tileSeq, tileStart,       \
                           numKvHeads, group, blockSize, maxBlocks, scale, ldo, ldq);                        \
    }
FLASH_ATTENTION(64)
FLASH_ATTENTION(128)
