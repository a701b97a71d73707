// Decode paged attention on tensor cores: attention_decode.cu's kernel (same arguments, grid,
// split plan, partials and last-block split merge; the host only picks another name) with the
// G query heads of a KV head as the M rows of mma.sync m16n8k16 instead of G CUDA-core FMA chains.
//
// Why: at batch 64 the CUDA-core kernel is near issue-bound (per K/V row and lane, G x 8 FMAs for
// QK and again for PV, a log2(TPR)-level shuffle per score, bf16 -> f32 conversions) and reads
// K/V at ~55% of HBM bandwidth. Here a warp's 16-key tile costs D/8 mmas for S = Q K^T and D/8
// for O += P V, a few quad shuffles for the row maxima, and 2 byte permutes per PV mma.
//
// A warp takes 16-key tiles (warp w: the split's tiles w, w + nwarps, ...), the next tile's K/V
// loaded into registers while the current one is computed. Lane (g = lane / 4, qd = lane % 4):
//  - S = Q K^T: Q is the A operand (rows = heads g and g + 8; rows >= G are zero and ignored), K
//    the B operand (n = 8 keys, two n-tiles per tile). The sum over the head dim does not care in
//    which order dims are visited, so (as in gemv.cu) the lane loads 16 contiguous bytes of key g
//    (and g + 8) at dims 32j + 8qd..+7 and uses them as the logical k pairs of k-steps 2j and
//    2j + 1; Q's A fragments are loaded once with the same permutation. 64 contiguous bytes per
//    key row per load instruction.
//  - P: S's accumulators are, register for register, the A fragment of the PV mma (the two key
//    n-tiles are its k = 16): softmax numerators rounded to bf16 in place (FA2's register reuse).
//    Row maxima and sums need only the quad's shuffles (xor 1, 2); scores are in log2 units.
//  - O += P V: V is the B operand, whose lane needs keys 2qd, 2qd + 1, 2qd + 8, 2qd + 9 of output
//    column g. The output dim order is free too: n-tile i = 8c + w, column n is dim
//    64c + 8n + w, so the lane loads 16 contiguous bytes (dims 64c + 8g..+7) of each of its 4
//    keys and lanes g = 0..7 read 128 contiguous bytes of a row; two keys' values of one dim are
//    packed into a B register with __byte_perm. Writing O to shared memory un-permutes it.
// Rows past the split end are masked to -inf and never addressed (unused pages may hold NaN:
// zeros are used instead). The lane of key tileBase + lane % 16 computes its pool row (one
// division per lane and tile) and the lanes that load a key take it by shuffle.
//
// Kernels paged_attention_decode_tc_d{D}_g{G}_bf16, D in {64, 128} (a multiple of 64 for the V
// loads; D = 256 would need 2x the registers of D = 128 and stays on the CUDA-core kernel),
// 1 <= G <= 16; needs 16-byte aligned q rows and K/V rows (the host checks). grid
// (numKvHeads * maxSplits, T), block 128, dynamic smem 4 * G * (D + 2) floats, prefetchRows (the
// L2 prefetch before the PDL wait), as attention_decode.cu's.
#include "common.cuh"
#include "attention_merge.cuh"  // split_block, finish_decode_block
#include "mma.cuh"

template <int D, int G>
struct TcDecodeShape {
    static_assert(D % 64 == 0 && D <= 128, "tensor-core decode attention: D in {64, 128}");
    static_assert(G >= 1 && G <= 16, "tensor-core decode attention: 1 <= G <= 16 (the mma's 16 rows)");
    static constexpr int TILE = 16;     // keys per warp tile (the PV mma's k)
    static constexpr int KC = D / 32;   // 16-byte chunks a lane loads per K row (2 QK k-steps each)
    static constexpr int VC = D / 64;   // 16-byte chunks a lane loads per V row (8 PV n-tiles each)
    static constexpr int NT = D / 8;    // PV n-tiles (output columns / 8)
    static constexpr bool HI = G > 8;   // heads in the mma's rows 8..15
};

// Word i (0..3) of a 16-byte load; i is a constant once unrolled, so no local-memory array.
__device__ __forceinline__ unsigned word_of(const uint4& v, int i) {
    return i == 0 ? v.x : i == 1 ? v.y : i == 2 ? v.z : v.w;
}

// Two floats as a bf16x2 register, lo in the low half (the lower k index of an mma fragment).
__device__ __forceinline__ unsigned pack_bf16x2(float lo, float hi) {
    bf162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<unsigned*>(&v);
}

template <int D, int G>
__device__ void decode_attention_tc(DECODE_KERNEL_PARAMS) {
    using S = TcDecodeShape<D, G>;
    constexpr int TILE = S::TILE, KC = S::KC, VC = S::VC, NT = S::NT;
    constexpr bool HI = S::HI;
    constexpr unsigned FULL = 0xffffffffu;
    extern __shared__ float decode_smem[];
    const SplitBlock sb = split_block(numKvHeads, splitSize, tokenSeq, queryStart, seqLens);
    if (sb.split >= sb.nsplit) return;  // the whole block: before any barrier
    const int kvh = sb.kvh, split = sb.split, t = sb.t, s = sb.s, nsplit = sb.nsplit, start = sb.start, end = sb.end;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    const int g = lane >> 2, qd = lane & 3;
    const long long kvDim = (long long) numKvHeads * D;
    const bf16* kHead = kPool + (long long) kvh * D + 8 * qd;  // this lane's K chunk within a row
    const bf16* vHead = vPool + (long long) kvh * D + 8 * g;   // this lane's V chunk within a row
    const int* table = blockTables + (long long) s * maxBlocks;
    const float qscale = scale * 1.4426950408889634f;  // scores in log2 units
    const uint4 zero = make_uint4(0, 0, 0, 0);

    // Q's A fragments: heads g and g + 8 at dims 32j + 8qd..+7, as the K loads (zero past G)
    uint4 qlo[KC], qhi[KC];
    const bf16* qHeads = q + t * ldq + (long long) kvh * G * D + 8 * qd;
#pragma unroll
    for (int j = 0; j < KC; j++) {
        qlo[j] = g < G ? *reinterpret_cast<const uint4*>(qHeads + (long long) g * D + 32 * j) : zero;
        qhi[j] = HI && g + 8 < G ? *reinterpret_cast<const uint4*>(qHeads + (long long) (g + 8) * D + 32 * j) : zero;
    }

    // The pool row of key base + lane % 16, or -1 past the split (never addressed: unused pages
    // may hold anything, NaN included); loads of a key take its row by shuffle.
    auto row_of = [&](int base) {
        const int p = base + (lane & 15);
        return p < end ? table[p / blockSize] * blockSize + p % blockSize : -1;
    };
    // K rows of keys 8nt + g of the tile (chunks j), zero past the split
    auto load_k = [&](int rows, uint4 (&kr)[2][KC]) {
#pragma unroll
        for (int nt = 0; nt < 2; nt++) {
            const int r = __shfl_sync(FULL, rows, 8 * nt + g);
#pragma unroll
            for (int j = 0; j < KC; j++) {
                kr[nt][j] = r >= 0 ? __ldg(reinterpret_cast<const uint4*>(kHead + r * kvDim + 32 * j)) : zero;
            }
        }
    };
    // V rows of keys 2qd + (e & 1) + 8(e >> 1) of the tile (chunks c), zero past the split
    auto load_v = [&](int rows, uint4 (&vr)[4][VC]) {
#pragma unroll
        for (int e = 0; e < 4; e++) {
            const int r = __shfl_sync(FULL, rows, 2 * qd + (e & 1) + 8 * (e >> 1));
#pragma unroll
            for (int c = 0; c < VC; c++) {
                vr[e][c] = r >= 0 ? __ldg(reinterpret_cast<const uint4*>(vHead + r * kvDim + 64 * c)) : zero;
            }
        }
    };

    // o[i][e]: head g (+8 for e >= 2), dim 64(i / 8) + 8(2qd + e % 2) + i % 8. m: the head's
    // running max (the same in the 4 lanes of a quad), l: this lane's share of its sum.
    float o[NT][4];
#pragma unroll
    for (int i = 0; i < NT; i++) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
    // The next tile's K is loaded before this tile's QK, its V after it (when this tile's K
    // registers are free): one tile of each in flight while computing, and no spills at D = 128.
    uint4 kc[2][KC], vc[4][VC], kn[2][KC], vn[4][VC];
    int base = start + warp * TILE;
    int rows = row_of(base);
    load_k(rows, kc);
    load_v(rows, vc);
    for (; base < end; base += nwarps * TILE) {  // warp-uniform condition
        const int nextRows = row_of(base + nwarps * TILE);
        load_k(nextRows, kn);
        // sc[nt][e]: head g (+8 for e >= 2), key base + 8nt + 2qd + e % 2
        float sc[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
#pragma unroll
        for (int nt = 0; nt < 2; nt++) {
#pragma unroll
            for (int j = 0; j < KC; j++) {
                const unsigned a0[4] = {qlo[j].x, qhi[j].x, qlo[j].y, qhi[j].y}, b0[2] = {kc[nt][j].x, kc[nt][j].y};
                const unsigned a1[4] = {qlo[j].z, qhi[j].z, qlo[j].w, qhi[j].w}, b1[2] = {kc[nt][j].z, kc[nt][j].w};
                mma_16816(sc[nt], a0, b0);
                mma_16816(sc[nt], a1, b1);
            }
        }
#pragma unroll
        for (int nt = 0; nt < 2; nt++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                sc[nt][e] = base + 8 * nt + 2 * qd + (e & 1) < end ? sc[nt][e] * qscale : -INFINITY;
            }
        }
        load_v(nextRows, vn);
        // online softmax of row r (head g + 8r). The tile's key `base` is in the split, so every
        // row's new max is finite and exp2(m - mx) is 0 for the first tile (m = -inf).
        float corr[2];
        bool rescale = false;
#pragma unroll
        for (int r = 0; r < (HI ? 2 : 1); r++) {
            float mx = fmaxf(fmaxf(sc[0][2 * r], sc[0][2 * r + 1]), fmaxf(sc[1][2 * r], sc[1][2 * r + 1]));
            mx = fmaxf(mx, __shfl_xor_sync(FULL, mx, 1));
            mx = fmaxf(mx, __shfl_xor_sync(FULL, mx, 2));
            mx = fmaxf(mx, m[r]);
            corr[r] = exp2f(m[r] - mx);
            rescale |= corr[r] != 1.f;
            m[r] = mx;
            float sum = 0.f;
#pragma unroll
            for (int nt = 0; nt < 2; nt++) {
#pragma unroll
                for (int e = 2 * r; e < 2 * r + 2; e++) {
                    sc[nt][e] = exp2f(sc[nt][e] - mx);
                    sum += sc[nt][e];
                }
            }
            l[r] = l[r] * corr[r] + sum;
        }
        // the max moves in the first tiles only: skip the rescale (warp-uniformly) once it settles
        if (__any_sync(FULL, rescale)) {
#pragma unroll
            for (int i = 0; i < NT; i++) {
                o[i][0] *= corr[0];
                o[i][1] *= corr[0];
                if (HI) {
                    o[i][2] *= corr[1];
                    o[i][3] *= corr[1];
                }
            }
        }
        // P as the PV mma's A fragment: {row g, keys 2qd, +1}, {row g + 8, same}, then keys + 8
        const unsigned pa[4] = {pack_bf16x2(sc[0][0], sc[0][1]), HI ? pack_bf16x2(sc[0][2], sc[0][3]) : 0u,
                                pack_bf16x2(sc[1][0], sc[1][1]), HI ? pack_bf16x2(sc[1][2], sc[1][3]) : 0u};
#pragma unroll
        for (int c = 0; c < VC; c++) {
#pragma unroll
            for (int w = 0; w < 8; w++) {
                // dim 64c + 8g + w of keys {2qd, 2qd + 1} and {2qd + 8, 2qd + 9}: low or high halves
                const unsigned sel = w & 1 ? 0x7632u : 0x5410u;
                const unsigned bv[2] = {__byte_perm(word_of(vc[0][c], w >> 1), word_of(vc[1][c], w >> 1), sel),
                                        __byte_perm(word_of(vc[2][c], w >> 1), word_of(vc[3][c], w >> 1), sel)};
                mma_16816(o[8 * c + w], pa, bv);
            }
        }
#pragma unroll
        for (int nt = 0; nt < 2; nt++) {
#pragma unroll
            for (int j = 0; j < KC; j++) kc[nt][j] = kn[nt][j];
        }
#pragma unroll
        for (int e = 0; e < 4; e++) {
#pragma unroll
            for (int c = 0; c < VC; c++) vc[e][c] = vn[e][c];
        }
    }
    // the warp's state into attention_merge.cuh's layout, dims un-permuted
    float* sm = decode_smem;
    float* sl = decode_smem + nwarps * G;
    float* sacc = decode_smem + 2 * nwarps * G;
#pragma unroll
    for (int r = 0; r < (HI ? 2 : 1); r++) {
        l[r] += __shfl_xor_sync(FULL, l[r], 1);
        l[r] += __shfl_xor_sync(FULL, l[r], 2);
        const int head = g + 8 * r;
        if (head < G) {
            if (qd == 0) {
                sm[warp * G + head] = m[r];
                sl[warp * G + head] = l[r];
            }
            float* row = sacc + (warp * G + head) * D;
#pragma unroll
            for (int i = 0; i < NT; i++) {
                row[64 * (i >> 3) + 8 * (2 * qd) + (i & 7)] = o[i][2 * r];
                row[64 * (i >> 3) + 8 * (2 * qd + 1) + (i & 7)] = o[i][2 * r + 1];
            }
        }
    }
    finish_decode_block<G>(out, part, counters, decode_smem, nwarps, D, kvh, t, split, nsplit, numKvHeads, maxSplits,
                           numTokens, ldo);
}

// D = 128: 2 blocks (8 warps) per SM: a lane holds up to 1.5 tiles of K/V (48 registers) and the
// 16 x D accumulator (64 more); ptxas -v: ~250 registers, no spills; 8 warps each with a tile (8
// KiB of K/V) in flight still cover the HBM latency. D = 64: ~150 registers, 3 blocks.
#define DECODE_ATTENTION_TC(D, G, MIN_BLOCKS)                                                                  \
    extern "C" __global__ void __launch_bounds__(128, MIN_BLOCKS)                                              \
        paged_attention_decode_tc_d##D##_g##G##_bf16(DECODE_KERNEL_PARAMS, int prefetchRows) {                 \
        prefetch_split_kv(kPool, vPool, queryStart, seqLens, blockTables, tokenSeq, numKvHeads, blockSize,      \
                          maxBlocks, splitSize, D, prefetchRows);                                               \
        pdl_entry();                                                                                           \
        decode_attention_tc<D, G>(DECODE_KERNEL_ARGS);                                                         \
    }
#define DECODE_ATTENTION_TC_D(D, B)                                                                               \
    DECODE_ATTENTION_TC(D, 1, B) DECODE_ATTENTION_TC(D, 2, B) DECODE_ATTENTION_TC(D, 3, B)                        \
    DECODE_ATTENTION_TC(D, 4, B) DECODE_ATTENTION_TC(D, 5, B) DECODE_ATTENTION_TC(D, 6, B)                        \
    DECODE_ATTENTION_TC(D, 7, B) DECODE_ATTENTION_TC(D, 8, B) DECODE_ATTENTION_TC(D, 9, B)                        \
    DECODE_ATTENTION_TC(D, 10, B) DECODE_ATTENTION_TC(D, 11, B) DECODE_ATTENTION_TC(D, 12, B)                     \
    DECODE_ATTENTION_TC(D, 13, B) DECODE_ATTENTION_TC(D, 14, B) DECODE_ATTENTION_TC(D, 15, B)                     \
    DECODE_ATTENTION_TC(D, 16, B)
DECODE_ATTENTION_TC_D(64, 3)
DECODE_ATTENTION_TC_D(128, 2)
