// Runs JLight's newer CUDA kernels on the CPU, one std::thread per CUDA thread, to check their
// indexing and math without a GPU: __syncthreads is a block barrier, warp shuffles go through a
// per-warp exchange buffer and barrier, shared memory is a global array (one block at a time).
// Compared against plain reference implementations on random inputs:
//   paged_attention_split_g{G}_p{P}_bf16 + attention_combine_bf16 (every split count path),
//   paged_attention_g{G}_bf16 (grouped, unsplit), paged_attention_decode (CUDA-core and tensor-core
//   kernels), flash attention,
//   gemv_{bf16,f32} (T = 1..8), gemv_norm_*, gemv_add_bf16, read_floor, the moe_* kernels (router, align, grouped GEMMs, sum).
// Build and run: src/test/native/run-kernel-emu.sh (g++ with the CUDA headers for bf16).
#include <barrier>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <functional>
#include <memory>
#include <atomic>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <cuda_bf16.h>
#include <vector_types.h>

// ---- the CUDA execution model, emulated -----------------------------------------------------
#include "emu_model.h"
static std::vector<std::unique_ptr<std::barrier<>>> g_warp_barriers;
static float g_exchange[1024];
alignas(16) float split_smem[64 * 1024];

static float __shfl_xor_sync(unsigned, float v, int o) {
    int t = threadIdx.x, warp = t >> 5, lane = t & 31;
    auto& b = *g_warp_barriers[warp];
    g_exchange[t] = v;
    b.arrive_and_wait();
    float r = g_exchange[warp * 32 + (lane ^ o)];
    b.arrive_and_wait();
    return r;
}

static int __shfl_xor_sync(unsigned, int v, int o) {
    int t = threadIdx.x, warp = t >> 5, lane = t & 31;
    auto& b = *g_warp_barriers[warp];
    static int exchange[1024];
    exchange[t] = v;
    b.arrive_and_wait();
    int r = exchange[warp * 32 + (lane ^ o)];
    b.arrive_and_wait();
    return r;
}

// lane src's v (an int: the tensor-core decode kernel's pool rows)
static int __shfl_sync(unsigned, int v, int src) {
    int t = threadIdx.x, warp = t >> 5;
    auto& b = *g_warp_barriers[warp];
    static int exchange[1024];
    exchange[t] = v;
    b.arrive_and_wait();
    int r = exchange[warp * 32 + (src & 31)];
    b.arrive_and_wait();
    return r;
}

static int __any_sync(unsigned, int p) {
    int t = threadIdx.x, warp = t >> 5;
    auto& b = *g_warp_barriers[warp];
    static int exchange[1024];
    exchange[t] = p != 0;
    b.arrive_and_wait();
    int any = 0;
    for (int i = 0; i < 32; i++) any |= exchange[warp * 32 + i];
    b.arrive_and_wait();
    return any;
}

// PTX prmt (default mode): result byte i = byte s[4i+2:4i] of the 8 bytes {y, x} (x = bytes 0-3)
static unsigned __byte_perm(unsigned x, unsigned y, unsigned s) {
    unsigned long long v = ((unsigned long long) y << 32) | x;
    unsigned r = 0;
    for (int i = 0; i < 4; i++) r |= (unsigned) ((v >> (8 * ((s >> (4 * i)) & 7))) & 0xff) << (8 * i);
    return r;
}

// cp.async, asynchronous as on the GPU: a copy lands in shared memory only when a wait_group
// retires its commit group, so a stage read before its wait holds stale data and fails the check.
struct PendingCopy { void* dst; unsigned char bytes[16]; };
thread_local std::vector<PendingCopy> t_open_group;
thread_local std::vector<std::vector<PendingCopy>> t_groups;
static void cp_async16(void* smem, const void* gmem, bool valid) {
    PendingCopy c{smem, {}};
    if (valid) memcpy(c.bytes, gmem, 16);
    t_open_group.push_back(c);
}
static void cp_async_commit() {
    t_groups.push_back(std::move(t_open_group));
    t_open_group.clear();
}
template <int N>
static void cp_async_wait() {
    while (t_groups.size() > (size_t) N) {
        for (auto& c : t_groups.front()) memcpy(c.dst, c.bytes, 16);
        t_groups.erase(t_groups.begin());
    }
}

// ldmatrix.x4: lane l's r[m] = row l / 4, columns 2(l % 4), +1 of matrix m, whose row i's address
// lane 8m + i gave (pointers exchanged through the warp, as the hardware does).
static const void* g_ldm_rows[1024];
static void ldmatrix_x4(unsigned* r, const __nv_bfloat16* p) {
    int t = threadIdx.x, warp = t >> 5, lane = t & 31;
    auto& bar = *g_warp_barriers[warp];
    g_ldm_rows[t] = p;
    bar.arrive_and_wait();
    for (int m = 0; m < 4; m++) {
        const __nv_bfloat16* row = static_cast<const __nv_bfloat16*>(g_ldm_rows[warp * 32 + m * 8 + lane / 4]);
        memcpy(&r[m], row + 2 * (lane % 4), 4);
    }
    bar.arrive_and_wait();
}

#define __align__(x)
alignas(16) unsigned char flash_smem[64 * 1024];
#define JLIGHT_EMU 1
#define JLIGHT_BLOCK_SHARED static

static float bits_to_float(unsigned short h) {
    unsigned u = (unsigned) h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// mma.sync.m16n8k16.row.col.f32.bf16.bf16.f32 with PTX's fragment layouts (ISA, "Matrix
// fragments for mma.m16n8k16"): A reg r of lane l holds row l/4 (+8 for r = 1, 3), columns
// 2(l%4) (+8 for r = 2, 3) and +1; B reg r holds rows (k) 2(l%4) (+8 for r = 1) and +1 of column
// l/4; C element e holds row l/4 (+8 for e >= 2), column 2(l%4) + e%2.
static unsigned g_ma[1024][4], g_mb[1024][2];
static void mma_16816(float* d, const unsigned* a, const unsigned* b) {
    int t = threadIdx.x, warp = t >> 5, lane = t & 31;
    auto& bar = *g_warp_barriers[warp];
    for (int i = 0; i < 4; i++) g_ma[t][i] = a[i];
    g_mb[t][0] = b[0];
    g_mb[t][1] = b[1];
    bar.arrive_and_wait();
    auto A = [&](int row, int k) {
        int l = (row % 8) * 4 + (k % 8) / 2, reg = (row >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0);
        unsigned w = g_ma[warp * 32 + l][reg];
        return bits_to_float((unsigned short) (k % 2 ? w >> 16 : w & 0xffff));
    };
    auto B = [&](int k, int col) {
        int l = col * 4 + (k % 8) / 2, reg = k >= 8 ? 1 : 0;
        unsigned w = g_mb[warp * 32 + l][reg];
        return bits_to_float((unsigned short) (k % 2 ? w >> 16 : w & 0xffff));
    };
    int g = lane >> 2, tq = lane & 3;
    float r[4];
    for (int e = 0; e < 4; e++) {
        int row = g + (e >= 2 ? 8 : 0), col = 2 * tq + (e & 1);
        float acc = 0.f;
        for (int k = 0; k < 16; k++) acc += A(row, k) * B(k, col);
        r[e] = acc;
    }
    bar.arrive_and_wait();
    for (int e = 0; e < 4; e++) d[e] += r[e];
}

template <typename T> static T __ldg(const T* p) { return *p; }
template <typename T> static T __ldcg(const T* p) { return *p; }
static std::mutex g_atomic_lock;
static int atomicAdd(int* p, int v) { std::lock_guard<std::mutex> g(g_atomic_lock); int old = *p; *p += v; return old; }
static void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
alignas(16) float decode_smem[64 * 1024];
template <typename T> static T __ldcs(const T* p) { return *p; }
static float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
using std::min;
using std::max;

#include "../../main/cuda/common.cuh"
#include "../../main/cuda/attention_split.cu"
#include "../../main/cuda/attention_decode.cu"
#include "../../main/cuda/attention_decode_tc.cu"
alignas(16) uint4 gemv_xs[48 * 1024 / 16];  // gemv_norm_*'s dynamic shared memory (the host's limit)
#include "../../main/cuda/gemv.cu"
#include "../../main/cuda/attention_flash.cu"
#include "../../main/cuda/elementwise.cu"
#include "../../main/cuda/norm.cu"
#include "../../main/cuda/rope.cu"
alignas(16) float attn_smem[16 * 1024];
alignas(16) float group_smem[16 * 1024];
#include "../../main/cuda/attention.cu"
#include "../../main/cuda/moe.cu"

// launches fn over grid (gx, gy) with bx threads, one block at a time
static void launch(unsigned gx, unsigned gy, unsigned bx, const std::function<void()>& fn) {
    blockDim.x = bx;
    gridDim.x = gx;
    gridDim.y = gy;
    for (unsigned by = 0; by < gy; by++) {
        for (unsigned bxi = 0; bxi < gx; bxi++) {
            std::barrier<> block((int) bx);
            g_block_barrier = &block;
            g_warp_barriers.clear();
            for (unsigned w = 0; w < bx / 32; w++) g_warp_barriers.emplace_back(new std::barrier<>(32));
            std::vector<std::thread> ts;
            for (unsigned t = 0; t < bx; t++) {
                ts.emplace_back([&, t, bxi, by] {
                    threadIdx.x = t;
                    blockIdx.x = bxi;
                    blockIdx.y = by;
                    fn();
                    // a thread that returned no longer takes part in barriers (as on the GPU)
                    g_warp_barriers[t >> 5]->arrive_and_drop();
                    g_block_barrier->arrive_and_drop();
                });
            }
            for (auto& th : ts) th.join();
        }
    }
}

static std::mt19937 rng(12345);
static float randn() { static std::normal_distribution<float> d(0.f, 1.f); return d(rng); }
static bf16 b(float x) { return __float2bfloat16_rn(x); }
static float f(bf16 x) { return __bfloat162float(x); }
static int failures = 0;

static void check(const char* what, const std::vector<float>& got, const std::vector<float>& want, double tol) {
    double err = 0, ref = 0;
    for (size_t i = 0; i < got.size(); i++) {
        if (!std::isfinite(got[i])) { printf("FAIL %s: element %zu is %f\n", what, i, got[i]); failures++; return; }
        err += (got[i] - want[i]) * (got[i] - want[i]);
        ref += want[i] * want[i];
    }
    double nmse = err / (ref > 0 ? ref : 1);
    bool ok = nmse < tol;
    printf("%s %s: NMSE %.2e\n", ok ? "ok  " : "FAIL", what, nmse);
    if (!ok) failures++;
}

// ---- split, decode and flash attention -------------------------------------------------------
enum AttnKind { SPLIT, FLASH, DECODE, GROUP, DECODE_TC };
// seqs: {cached, new} per sequence; one layer; block size bs. DECODE and DECODE_TC also poison
// every K/V row no token may read (NaN) and the unused block-table entries (far out of range).
static void attention_case(int G, int P, int kvHeads, int hd, int bs, std::vector<std::pair<int, int>> seqs,
                           int splitSize, int maxSplits, AttnKind kind = SPLIT) {
    bool flash = kind == FLASH;
    bool decode = kind == DECODE || kind == DECODE_TC;
    int H = kvHeads * G, kvDim = kvHeads * hd, S = (int) seqs.size();
    std::vector<int> qs(S + 1, 0), lens(S), tokenSeq;
    int maxBlocks = 0;
    for (int s = 0; s < S; s++) {
        qs[s + 1] = qs[s] + seqs[s].second;
        lens[s] = seqs[s].first + seqs[s].second;
        maxBlocks = max(maxBlocks, (lens[s] + bs - 1) / bs + 1);
        for (int i = 0; i < seqs[s].second; i++) tokenSeq.push_back(s);
    }
    int T = qs[S];
    int numBlocks = S * maxBlocks + 3;
    std::vector<int> perm(numBlocks);
    for (int i = 0; i < numBlocks; i++) perm[i] = i;
    std::shuffle(perm.begin(), perm.end(), rng);
    std::vector<int> tables(S * maxBlocks);
    for (int i = 0; i < S * maxBlocks; i++) tables[i] = perm[i];
    std::vector<bf16> kPool((size_t) numBlocks * bs * kvDim), vPool(kPool.size());
    for (auto& x : kPool) x = b(randn());
    for (auto& x : vPool) x = b(randn());
    if (decode) {
        std::vector<bool> used((size_t) numBlocks * bs, false);
        for (int s = 0; s < S; s++) {
            for (int p = 0; p < lens[s]; p++) used[(size_t) tables[s * maxBlocks + p / bs] * bs + p % bs] = true;
            for (int j = (lens[s] + bs - 1) / bs; j < maxBlocks; j++) tables[s * maxBlocks + j] = 1 << 30;
        }
        for (size_t r = 0; r < used.size(); r++) {
            if (used[r]) continue;
            for (int i = 0; i < kvDim; i++) kPool[r * kvDim + i] = vPool[r * kvDim + i] = b(NAN);
        }
    }
    long long ldq = (long long) H * hd + 8, ldo = (long long) H * hd + 4;  // strided views
    std::vector<bf16> q((size_t) T * ldq), out((size_t) T * ldo, b(NAN));
    for (auto& x : q) x = b(randn());
    std::vector<float> part((size_t) T * H * maxSplits * (hd + 2), NAN);
    float scale = 1.f / std::sqrt((float) hd);
    auto kernel = [&] {
        // the template instance the backend would launch (G, P; U as in attention_split.cu)
#define RUN(GG, PP, UU) if (G == GG && P == PP) split_attention<GG, PP, UU>(out.data(), part.data(), q.data(), \
        kPool.data(), vPool.data(), qs.data(), lens.data(), tables.data(), tokenSeq.data(), kvHeads, hd, bs,   \
        maxBlocks, scale, ldo, ldq, splitSize, maxSplits, T);
        RUN(1, 1, 8) RUN(2, 1, 8) RUN(3, 2, 8) RUN(4, 2, 8) RUN(8, 4, 4) RUN(4, 1, 8) RUN(1, 4, 4) RUN(7, 2, 8)
    };
    if (flash) {
        std::vector<int> tileSeq, tileStart;
        for (int s = 0; s < S; s++) {
            for (int t = qs[s]; t < qs[s + 1]; t += 64) {
                tileSeq.push_back(s);
                tileStart.push_back(t);
            }
        }
        launch((unsigned) tileSeq.size(), H, 128, [&] {
            if (hd == 64) {
                flash_attention<64>(out.data(), q.data(), kPool.data(), vPool.data(), qs.data(), lens.data(),
                                    tables.data(), tileSeq.data(), tileStart.data(), kvHeads, G, bs, maxBlocks, scale,
                                    ldo, ldq);
            } else {
                flash_attention<128>(out.data(), q.data(), kPool.data(), vPool.data(), qs.data(), lens.data(),
                                     tables.data(), tileSeq.data(), tileStart.data(), kvHeads, G, bs, maxBlocks,
                                     scale, ldo, ldq);
            }
        });
    } else if (decode) {
        std::vector<int> counters((size_t) T * kvHeads, 0);
        launch(kvHeads * maxSplits, T, 128, [&] {
            // its L2 prefetch is a no-op here, but its metadata reads and row arithmetic run
            prefetch_split_kv(kPool.data(), vPool.data(), qs.data(), lens.data(), tables.data(), tokenSeq.data(),
                              kvHeads, bs, maxBlocks, splitSize, hd, 64);
            if (kind == DECODE_TC) {
#define TC(DD, GG) if (hd == DD && G == GG) decode_attention_tc<DD, GG>(out.data(), part.data(), counters.data(), \
        q.data(), kPool.data(), vPool.data(), qs.data(), lens.data(), tables.data(), tokenSeq.data(), kvHeads, bs, \
        maxBlocks, scale, ldo, ldq, splitSize, maxSplits, T);
                TC(128, 1) TC(128, 2) TC(128, 4) TC(128, 5) TC(128, 8) TC(128, 16) TC(64, 1) TC(64, 4) TC(64, 8)
                TC(64, 9) TC(64, 16) TC(128, 12)
                return;
            }
#define DEC(DD, GG) if (hd == DD && G == GG) decode_attention<DD, GG>(out.data(), part.data(), counters.data(), \
        q.data(), kPool.data(), vPool.data(), qs.data(), lens.data(), tables.data(), tokenSeq.data(), kvHeads, bs, \
        maxBlocks, scale, ldo, ldq, splitSize, maxSplits, T);
            DEC(128, 4) DEC(128, 1) DEC(64, 8) DEC(80, 2) DEC(96, 3) DEC(256, 8) DEC(256, 1) DEC(128, 7) DEC(64, 5)
        });
        for (int x : counters) {
            if (x != 0) { printf("FAIL: decode attention left a split counter at %d\n", x); failures++; break; }
        }
    } else if (kind == GROUP) {
        // attention.cu's grouped kernel: one block per (KV head, token), the whole context
        launch(kvHeads, T, 128, [&] {
#define GRP(GG) if (G == GG) paged_attention_group<GG>(out.data(), q.data(), kPool.data(), vPool.data(), qs.data(), \
        lens.data(), tables.data(), tokenSeq.data(), kvHeads, hd, bs, maxBlocks, scale, ldo, ldq);
            GRP(2) GRP(4) GRP(8)
        });
    } else {
        launch(kvHeads * maxSplits, T, 128, kernel);
    }
    if (kind == SPLIT && maxSplits > 1) {
        launch(H, T, 128, [&] {
            attention_combine_bf16(out.data(), part.data(), qs.data(), lens.data(), tokenSeq.data(), H, hd, splitSize,
                                   maxSplits, T, ldo);
        });
    }
    // reference
    std::vector<float> got, want;
    for (int t = 0; t < T; t++) {
        int s = tokenSeq[t];
        int pos = lens[s] - (qs[s + 1] - qs[s]) + (t - qs[s]);
        for (int h = 0; h < H; h++) {
            int kvh = h / G;
            std::vector<double> sc(pos + 1);
            double m = -1e30;
            for (int p = 0; p <= pos; p++) {
                long long row = (long long) tables[s * maxBlocks + p / bs] * bs + p % bs;
                double d = 0;
                for (int i = 0; i < hd; i++) d += f(q[t * ldq + h * hd + i]) * f(kPool[row * kvDim + kvh * hd + i]);
                sc[p] = d * scale;
                m = max(m, sc[p]);
            }
            double l = 0;
            for (int p = 0; p <= pos; p++) l += (sc[p] = std::exp(sc[p] - m));
            for (int i = 0; i < hd; i++) {
                double a = 0;
                for (int p = 0; p <= pos; p++) {
                    long long row = (long long) tables[s * maxBlocks + p / bs] * bs + p % bs;
                    a += sc[p] * f(vPool[row * kvDim + kvh * hd + i]);
                }
                want.push_back((float) (a / l));
                got.push_back(f(out[t * ldo + h * hd + i]));
            }
        }
        // the padding between rows must stay NaN (untouched)
        for (long long c = (long long) H * hd; c < ldo; c++) {
            if (!std::isnan(f(out[t * ldo + c]))) { printf("FAIL: padding of row %d written\n", t); failures++; }
        }
    }
    char name[200];
    if (decode) {
        snprintf(name, sizeof name, "%s attention G=%d kvHeads=%d D=%d bs=%d T=%d split %d x %d",
                 kind == DECODE_TC ? "tc decode" : "decode", G, kvHeads, hd, bs, T, splitSize, maxSplits);
    } else if (kind == GROUP) {
        snprintf(name, sizeof name, "grouped attention G=%d kvHeads=%d D=%d bs=%d T=%d", G, kvHeads, hd, bs, T);
    } else if (flash) {
        snprintf(name, sizeof name, "flash attention G=%d kvHeads=%d D=%d T=%d", G, kvHeads, hd, T);
    } else {
        snprintf(name, sizeof name, "split attention G=%d P=%d kvHeads=%d D=%d T=%d split %d x %d", G, P, kvHeads,
                 hd, T, splitSize, maxSplits);
    }
    check(name, got, want, flash ? 2e-4 : 1e-4);
}

// ---- gemv -----------------------------------------------------------------------------------
template <int T, typename OutT>
static void gemv_case(int n, int k, long long ldx, long long ldw, long long ldo) {
    std::vector<bf16> x((size_t) T * ldx), w((size_t) n * ldw);
    for (auto& v : x) v = b(randn());
    for (auto& v : w) v = b(randn() * 0.05f);
    // the padding past K (strided rows) is NaN: a kernel that reads it poisons the sums
    for (int t = 0; t < T; t++) for (long long i = k; i < ldx; i++) x[t * ldx + i] = b(NAN);
    for (int r = 0; r < n; r++) for (long long i = k; i < ldw; i++) w[(size_t) r * ldw + i] = b(NAN);
    std::vector<OutT> out((size_t) T * ldo);
    for (auto& v : out) v = (OutT) NAN;
    launch((n + GEMV_ROWS - 1) / GEMV_ROWS, 1, 32 * GEMV_WARPS,
           [&] { gemv_impl<OutT, false>(out.data(), x.data(), w.data(), T, n, k, ldo, ldx, ldw, blockIdx.x); });
    std::vector<float> got, want;
    for (int t = 0; t < T; t++) {
        for (int r = 0; r < n; r++) {
            double a = 0;
            for (int i = 0; i < k; i++) a += (double) f(x[t * ldx + i]) * f(w[(size_t) r * ldw + i]);
            want.push_back((float) a);
            got.push_back((float) out[t * ldo + r]);
        }
        for (long long c = n; c < ldo; c++) {
            if (!std::isnan((float) out[t * ldo + c])) { printf("FAIL: gemv wrote past N in row %d\n", t); failures++; break; }
        }
    }
    char name[200];
    snprintf(name, sizeof name, "gemv T=%d N=%d K=%d out=%s", T, n, k, sizeof(OutT) == 4 ? "f32" : "bf16");
    check(name, got, want, sizeof(OutT) == 4 ? 1e-9 : 1e-5);
}

// gemv_swiglu_bf16 (gemv_impl<bf16, true>) must give the bits of gemv_bf16 into gu followed by
// silu_mul_bf16, and write nothing past inter
template <int T>
static void swiglu_case(int inter, int k, long long ldx, long long ldw, long long ldo) {
    std::vector<bf16> x((size_t) T * ldx), w((size_t) 2 * inter * ldw);
    for (auto& v : x) v = b(randn());
    for (auto& v : w) v = b(randn() * 0.05f);
    std::vector<bf16> gu((size_t) T * 2 * inter), pair((size_t) T * ldo, b(NAN)), fused((size_t) T * ldo, b(NAN));
    launch((2 * inter + GEMV_ROWS - 1) / GEMV_ROWS, 1, 32 * GEMV_WARPS,
           [&] { gemv_impl<bf16, false>(gu.data(), x.data(), w.data(), T, 2 * inter, k, 2 * inter, ldx, ldw, blockIdx.x); });
    launch((inter + 255) / 256, T, 256, [&] { silu_mul_bf16(pair.data(), gu.data(), T, inter, ldo, 2 * inter); });
    launch((inter + GEMV_ROWS / 2 - 1) / (GEMV_ROWS / 2), 1, 32 * GEMV_WARPS,
           [&] { gemv_impl<bf16, true>(fused.data(), x.data(), w.data(), T, inter, k, ldo, ldx, ldw, blockIdx.x); });
    int bad = 0;
    for (int t = 0; t < T; t++) {
        for (long long c = 0; c < ldo; c++) {
            float p = f(pair[t * ldo + c]), q = f(fused[t * ldo + c]);
            bool same = c < inter ? memcmp(&pair[t * ldo + c], &fused[t * ldo + c], sizeof(bf16)) == 0 : std::isnan(q);
            if (!same && bad++ < 3) printf("  swiglu T=%d t=%d c=%lld: pair %g fused %g\n", T, t, c, p, q);
        }
    }
    printf("%s gemv_swiglu T=%d I=%d K=%d: %d of %lld differ from gemv + silu_mul\n", bad ? "FAIL" : "ok  ", T, inter,
           k, bad, (long long) T * ldo);
    if (bad) failures++;
}

// ---- the norm and the residual add inside the GEMV ---------------------------------------------
// CudaBackend.normThreads: the block size rms_norm_bf16 is launched with for a row of `cols`
static int norm_threads(int cols) { return cols <= 1024 ? 128 : cols <= 4096 ? 256 : 512; }

// gemv_norm_bf16 / gemv_norm_swiglu_bf16 (gemv_norm_tiles over `blocks` blocks) on the residual must give
// the bits of rms_norm_bf16 into a buffer, then gemv_bf16 / gemv_swiglu_bf16 on it; nothing written
// past n, the residual untouched. Rows past K in the residual are NaN (a read of them shows).
template <int T, bool SWIGLU>
static void norm_gemv_case(int n, int k, long long ldr, long long ldw, long long ldo, unsigned blocks = 1u << 30) {
    if ((long long) T * gemv_norm_stride(k) * 2 > (long long) sizeof gemv_xs) {
        printf("FAIL: norm_gemv_case T=%d K=%d does not fit the shared rows\n", T, k);
        failures++;
        return;
    }
    const long long wrows = SWIGLU ? 2LL * n : n;
    std::vector<bf16> res((size_t) T * ldr), nw(k), w((size_t) wrows * ldw), normed((size_t) T * k);
    for (auto& v : res) v = b(3.0f * randn());
    for (int t = 0; t < T; t++) for (long long i = k; i < ldr; i++) res[t * ldr + i] = b(NAN);
    for (auto& v : nw) v = b(1.0f + 0.1f * randn());
    for (auto& v : w) v = b(randn() * 0.05f);
    const std::vector<bf16> res0 = res;
    const float eps = 1e-5f;
    const int vthreads = norm_threads(k);
    launch(T, 1, vthreads, [&] { rms_norm_bf16(normed.data(), res.data(), nw.data(), T, k, k, ldr, eps); });
    std::vector<bf16> pair((size_t) T * ldo, b(NAN)), fused((size_t) T * ldo, b(NAN));
    const unsigned grid = SWIGLU ? (n + GEMV_ROWS / 2 - 1) / (GEMV_ROWS / 2) : (n + GEMV_ROWS - 1) / GEMV_ROWS;
    launch(grid, 1, 32 * GEMV_WARPS,
           [&] { gemv_impl<bf16, SWIGLU>(pair.data(), normed.data(), w.data(), T, n, k, ldo, k, ldw, blockIdx.x); });
    // fewer blocks than tiles: each takes several (gemv_norm_tiles), the shared rows normed once
    launch(std::min(grid, blocks), 1, 32 * GEMV_WARPS, [&] {
        gemv_norm_tiles<SWIGLU>(fused.data(), res.data(), nw.data(), w.data(), T, n, k, ldo, ldr, ldw, eps, vthreads);
    });
    int bad = 0;
    for (size_t i = 0; i < pair.size(); i++) {
        if (memcmp(&pair[i], &fused[i], sizeof(bf16)) != 0 && bad++ < 3) {
            printf("  norm gemv T=%d i=%zu: pair %g fused %g\n", T, i, f(pair[i]), f(fused[i]));
        }
    }
    // the last block's normed rows, still in the shared array (inv_rms_case checks their 1 / rms)
    const bf16* xs = reinterpret_cast<const bf16*>(gemv_xs);
    int badNormed = 0;
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < k; i++) {
            badNormed += memcmp(&xs[(size_t) t * gemv_norm_stride(k) + i], &normed[(size_t) t * k + i], sizeof(bf16)) != 0;
        }
    }
    bad += badNormed;
    const bool resSame = memcmp(res.data(), res0.data(), res.size() * sizeof(bf16)) == 0;
    printf("%s gemv_norm%s T=%d N=%d K=%d threads=%d blocks=%u: %d of %zu outputs and %d of %d normed differ from rms_norm +"
           " gemv%s\n", bad || !resSame ? "FAIL" : "ok  ", SWIGLU ? "_swiglu" : "", T, n, k, vthreads, std::min(grid, blocks),
           bad - badNormed, pair.size(), badNormed, T * k, resSame ? "" : ", residual written");
    if (bad || !resSame) failures++;
}

// gemv_inv_rms (256 threads) must give rms_norm_bf16's 1 / rms to the bit: its sum of squares
// (rms_partial over the block, block_sum) with vthreads threads. The products and the normed rows
// round most 1-ulp differences away, so an order of the sum other than rms_norm_bf16's shows only here.
static void inv_rms_case(int k, long long ldx, int vthreads) {
    const int T = GEMV_MAX_T;
    std::vector<bf16> x((size_t) T * ldx);
    for (auto& v : x) v = b(2.0f * randn());
    const float eps = 1e-6f;
    float want[GEMV_MAX_T], got[GEMV_MAX_T];
    launch(T, 1, vthreads, [&] {  // rms_norm_bf16's vectorized path up to its inv
        static float scratch[32];
        const float ss = rms_partial(x.data() + blockIdx.x * ldx, k >> 3, threadIdx.x, blockDim.x);
        const float inv = rsqrtf(block_sum(ss, scratch) / k + eps);
        if (threadIdx.x == 0) want[blockIdx.x] = inv;
    });
    launch(1, 1, 32 * GEMV_WARPS, [&] {
        static float inv[GEMV_MAX_T];
        gemv_inv_rms(inv, x.data(), T, k, ldx, eps, vthreads);
        if (threadIdx.x == 0) memcpy(got, inv, sizeof got);
    });
    const int bad = memcmp(want, got, sizeof got) != 0;
    printf("%s gemv_inv_rms K=%d threads=%d: %s rms_norm_bf16's\n", bad ? "FAIL" : "ok  ", k, vthreads,
           bad ? "differs from" : "the bits of");
    failures += bad;
}

// gemv_add_bf16 (gemv_impl<bf16, false, false, true>) must give the bits of gemv_bf16 into a delta,
// then add_bf16 of it into the residual, and leave the residual's columns past n alone
template <int T>
static void gemv_add_case(int n, int k, long long ldx, long long ldw, long long ldr) {
    std::vector<bf16> x((size_t) T * ldx), w((size_t) n * ldw), res((size_t) T * ldr), delta((size_t) T * n);
    for (auto& v : x) v = b(randn());
    for (auto& v : w) v = b(randn() * 0.05f);
    for (auto& v : res) v = b(4.0f * randn());
    std::vector<bf16> pair = res, fused = res;
    launch((n + GEMV_ROWS - 1) / GEMV_ROWS, 1, 32 * GEMV_WARPS,
           [&] { gemv_impl<bf16, false>(delta.data(), x.data(), w.data(), T, n, k, n, ldx, ldw, blockIdx.x); });
    launch((n + 255) / 256, T, 256, [&] { add_bf16(pair.data(), delta.data(), T, n, ldr, n); });
    launch((n + GEMV_ROWS - 1) / GEMV_ROWS, 1, 32 * GEMV_WARPS,
           [&] { gemv_impl<bf16, false, false, true>(fused.data(), x.data(), w.data(), T, n, k, ldr, ldx, ldw, blockIdx.x); });
    int bad = 0, changed = 0;
    for (size_t i = 0; i < pair.size(); i++) {
        if (memcmp(&pair[i], &fused[i], sizeof(bf16)) != 0 && bad++ < 3) {
            printf("  gemv_add T=%d i=%zu: pair %g fused %g\n", T, i, f(pair[i]), f(fused[i]));
        }
        changed += memcmp(&pair[i], &res[i], sizeof(bf16)) != 0;
    }
    // a kernel that wrote nothing would match a pair that added nothing: the add must show
    const bool added = changed > T * n / 2;
    printf("%s gemv_add T=%d N=%d K=%d: %d of %zu differ from gemv + add (%d changed)\n",
           bad || !added ? "FAIL" : "ok  ", T, n, k, bad, pair.size(), changed);
    if (bad || !added) failures++;
}

// ---- rms norm (vectorized and scalar paths) and rope (blocks over tokens and pairs) -------------
static void norm_case(int rows, int cols, long long ld, int threads, bool add) {
    std::vector<bf16> x((size_t) rows * ld), res((size_t) rows * ld), w(cols), out((size_t) rows * ld);
    for (auto& v : x) v = b(randn());
    for (auto& v : res) v = b(randn());
    for (auto& v : w) v = b(1.0f + 0.1f * randn());
    for (auto& v : out) v = b(NAN);
    std::vector<bf16> res0 = res;
    float eps = 1e-5f;
    if (add) {
        launch(rows, 1, threads, [&] { add_rms_norm_bf16(out.data(), res.data(), x.data(), w.data(), rows, cols, ld, ld, ld, eps); });
    } else {
        launch(rows, 1, threads, [&] { rms_norm_bf16(out.data(), x.data(), w.data(), rows, cols, ld, ld, eps); });
    }
    std::vector<float> got, want, gotRes, wantRes;
    for (int r = 0; r < rows; r++) {
        std::vector<float> s(cols);
        double ss = 0;
        for (int c = 0; c < cols; c++) {
            s[c] = add ? f(b(f(res0[r * ld + c]) + f(x[r * ld + c]))) : f(x[r * ld + c]);
            ss += (double) s[c] * s[c];
            if (add) { wantRes.push_back(s[c]); gotRes.push_back(f(res[r * ld + c])); }
        }
        double inv = 1.0 / std::sqrt(ss / cols + eps);
        for (int c = 0; c < cols; c++) {
            want.push_back((float) (s[c] * inv * f(w[c])));
            got.push_back(f(out[r * ld + c]));
        }
        for (long long c = cols; c < ld; c++) {
            if (!std::isnan(f(out[r * ld + c]))) { printf("FAIL: norm wrote past cols in row %d\n", r); failures++; break; }
        }
    }
    char name[200];
    snprintf(name, sizeof name, "%s rows=%d cols=%d ld=%lld threads=%d", add ? "add_rms_norm" : "rms_norm", rows, cols, ld, threads);
    check(name, got, want, 1e-5);
    if (add) {
        snprintf(name, sizeof name, "add_rms_norm residual rows=%d cols=%d ld=%lld", rows, cols, ld);
        check(name, gotRes, wantRes, 1e-12);
    }
}

static void rope_case(int T, int heads, int kvHeads, int hd, int rot, int gy) {
    long long ldq = (long long) heads * hd + 8, ldk = (long long) kvHeads * hd;
    std::vector<bf16> q((size_t) T * ldq), k((size_t) T * ldk);
    for (auto& v : q) v = b(randn());
    for (auto& v : k) v = b(randn());
    std::vector<bf16> q0 = q, k0 = k;
    std::vector<int> pos(T);
    for (int t = 0; t < T; t++) pos[t] = 3 + 97 * t;
    std::vector<float> inv(rot / 2);
    for (int i = 0; i < rot / 2; i++) inv[i] = (float) std::pow(10000.0, -2.0 * i / rot);
    launch(T, gy, 128, [&] { rope_neox_bf16(q.data(), k.data(), pos.data(), inv.data(), T, heads, kvHeads, hd, rot, ldq, ldk, 1); });
    std::vector<float> got, want;
    int half = rot / 2;
    auto ref = [&](std::vector<bf16>& now, std::vector<bf16>& was, long long ld, int nh, int t) {
        for (int h = 0; h < nh; h++) {
            for (int d = 0; d < hd; d++) {
                size_t at = t * ld + h * hd + d;
                float w;
                if (d >= rot) {
                    w = f(was[at]);
                } else {
                    int i = d % half;
                    double a = (double) (float) ((float) pos[t] * inv[i]);
                    float x0 = f(was[t * ld + h * hd + i]), x1 = f(was[t * ld + h * hd + i + half]);
                    w = d < half ? (float) (x0 * std::cos(a) - x1 * std::sin(a)) : (float) (x1 * std::cos(a) + x0 * std::sin(a));
                }
                want.push_back(w);
                got.push_back(f(now[at]));
            }
        }
    };
    for (int t = 0; t < T; t++) {
        ref(q, q0, ldq, heads, t);
        ref(k, k0, ldk, kvHeads, t);
        for (long long c = (long long) heads * hd; c < ldq; c++) {
            if (f(q[t * ldq + c]) != f(q0[t * ldq + c])) { printf("FAIL: rope wrote past q in row %d\n", t); failures++; break; }
        }
    }
    char name[200];
    snprintf(name, sizeof name, "rope T=%d heads=%d/%d D=%d rot=%d gridY=%d", T, heads, kvHeads, hd, rot, gy);
    check(name, got, want, 1e-5);
}

// rope_write_kv_bf16 must equal rope_neox_bf16 then write_kv_bf16, bit for bit (slot -1 included)
static void rope_write_case(int T, int heads, int kvHeads, int hd, int rot, int gy) {
    long long ldq = (long long) heads * hd + 8, kvDim = (long long) kvHeads * hd, ldk = 2 * kvDim + 8, ldv = ldk;
    int slots = 3 * T + 5;
    std::vector<bf16> q((size_t) T * ldq), kv((size_t) T * ldk), kp((size_t) slots * kvDim, b(NAN)), vp(kp);
    for (auto& x : q) x = b(randn());
    for (auto& x : kv) x = b(randn());
    std::vector<bf16> q2 = q, kv2 = kv, kp2 = kp, vp2 = vp;
    std::vector<int> pos(T), sm(T);
    for (int t = 0; t < T; t++) { pos[t] = 5 + 131 * t; sm[t] = t == 1 ? -1 : (3 * t + 2) % slots; }
    std::vector<float> inv(rot / 2);
    for (int i = 0; i < rot / 2; i++) inv[i] = (float) std::pow(500000.0, -2.0 * i / rot);
    launch(T, gy, 128, [&] { rope_write_kv_bf16(q.data(), kv.data(), kv.data() + kvDim, kp.data(), vp.data(), pos.data(),
                                                sm.data(), inv.data(), T, heads, kvHeads, hd, rot, ldq, ldk, ldv, 1); });
    launch(T, 2, 128, [&] { rope_neox_bf16(q2.data(), kv2.data(), pos.data(), inv.data(), T, heads, kvHeads, hd, rot, ldq, ldk, 1); });
    launch(T, 1, 256, [&] { write_kv_bf16(kp2.data(), vp2.data(), kv2.data(), kv2.data() + kvDim, sm.data(), T, (int) kvDim, ldk, ldv); });
    auto same = [](const std::vector<bf16>& a, const std::vector<bf16>& c) {
        for (size_t i = 0; i < a.size(); i++) {
            unsigned short x, y;
            memcpy(&x, &a[i], 2);
            memcpy(&y, &c[i], 2);
            if (x != y) return false;
        }
        return true;
    };
    bool ok = same(q, q2) && same(kv, kv2) && same(kp, kp2) && same(vp, vp2);
    printf("%s rope_write_kv T=%d heads=%d/%d D=%d rot=%d gridY=%d (bit-exact vs rope + write_kv)\n", ok ? "ok  " : "FAIL",
           T, heads, kvHeads, hd, rot, gy);
    if (!ok) failures++;
}

// ---- silu_mul and write_kv (16-byte and scalar paths) ---------------------------------------------
static void silu_case(int rows, int inter, long long ldo, long long ldg) {
    std::vector<bf16> gu((size_t) rows * ldg), out((size_t) rows * ldo);
    for (auto& v : gu) v = b(2 * randn());
    for (auto& v : out) v = b(NAN);
    launch((inter + 255) / 256, rows, 256, [&] { silu_mul_bf16(out.data(), gu.data(), rows, inter, ldo, ldg); });
    std::vector<float> got, want;
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < inter; c++) {
            float a = f(gu[r * ldg + c]), bb = f(gu[r * ldg + inter + c]);
            want.push_back(f(b(a / (1.0f + expf(-a)) * bb)));
            got.push_back(f(out[r * ldo + c]));
        }
        for (long long c = inter; c < ldo; c++) {
            if (!std::isnan(f(out[r * ldo + c]))) { printf("FAIL: silu_mul wrote past inter in row %d\n", r); failures++; break; }
        }
    }
    char name[200];
    snprintf(name, sizeof name, "silu_mul rows=%d inter=%d ldo=%lld ldg=%lld (bit-exact)", rows, inter, ldo, ldg);
    check(name, got, want, 0.0 + 1e-30);
}

static void write_kv_case(int tokens, int kvDim, long long ld, int offset) {
    int slots = 64;
    std::vector<bf16> kp((size_t) slots * kvDim + 8), vp((size_t) slots * kvDim + 8), k((size_t) tokens * ld + 8), v((size_t) tokens * ld + 8);
    for (auto& x : kp) x = b(-1.0f);
    for (auto& x : vp) x = b(-2.0f);
    for (auto& x : k) x = b(randn());
    for (auto& x : v) x = b(randn());
    std::vector<int> sm(tokens);
    for (int t = 0; t < tokens; t++) sm[t] = t == 1 ? -1 : (7 * t + 3) % slots;
    launch(tokens, 1, 256, [&] { write_kv_bf16(kp.data(), vp.data(), k.data() + offset, v.data() + offset, sm.data(), tokens, kvDim, ld, ld); });
    int bad = 0;
    for (int s = 0; s < slots; s++) {
        int src = -1;
        for (int t = 0; t < tokens; t++) if (sm[t] == s) src = t;
        for (int c = 0; c < kvDim; c++) {
            float wk = src < 0 ? -1.0f : f(k[src * ld + offset + c]), wv = src < 0 ? -2.0f : f(v[src * ld + offset + c]);
            if (f(kp[(size_t) s * kvDim + c]) != wk || f(vp[(size_t) s * kvDim + c]) != wv) bad++;
        }
    }
    printf("%s write_kv tokens=%d kvDim=%d ld=%lld offset=%d\n", bad == 0 ? "ok  " : "FAIL", tokens, kvDim, ld, offset);
    if (bad) failures++;
}


// ---- moe: router, align, grouped GEMMs, sum ------------------------------------------------------
// Routes T random tokens over E experts (expert `idle` never chosen, so some tiles and experts are
// empty), runs the four expert kernels as the backend does and compares with a per-token reference
// that rounds the SwiGLU activation to bf16 as the GPU does. Unused rows of act and ys stay NaN,
// so a padding row or tile that is read fails.
static void moe_case(int T, int E, int k, int H, int I, int idle, bool renorm, int kChunk = 1 << 30) {
    long long ldl = E + 3, ldx = H + 8, ldo = H + 4;
    std::vector<bf16> logits((size_t) T * ldl), x((size_t) T * ldx), gu((size_t) E * 2 * I * H), dn((size_t) E * H * I);
    for (auto& v : logits) v = b(randn());
    for (int t = 0; t < T && idle >= 0; t++) logits[t * ldl + idle] = b(-30.f);
    for (auto& v : x) v = b(randn());
    for (auto& v : gu) v = b(randn() / std::sqrt((float) H));
    for (auto& v : dn) v = b(randn() / std::sqrt((float) I));
    std::vector<int> ids((size_t) T * k, -7);
    std::vector<float> w((size_t) T * k, NAN);
    launch((T + 3) / 4, 1, 128, [&] { moe_topk_bf16(ids.data(), w.data(), logits.data(), T, E, k, renorm, ldl, k, k); });
    int badRoute = 0;
    for (int t = 0; t < T; t++) {
        std::vector<std::pair<float, int>> p(E);
        float mx = -INFINITY, sum = 0;
        for (int e = 0; e < E; e++) mx = std::max(mx, f(logits[t * ldl + e]));
        for (int e = 0; e < E; e++) sum += (p[e] = {std::exp(f(logits[t * ldl + e]) - mx), e}).first;
        std::stable_sort(p.begin(), p.end(), [](auto& a, auto& c) { return a.first > c.first; });
        float picked = 0;
        for (int j = 0; j < k; j++) picked += p[j].first / sum;
        for (int j = 0; j < k; j++) {
            float want = p[j].first / sum / (renorm ? picked : 1.f);
            if (ids[t * k + j] != p[j].second || std::fabs(w[t * k + j] - want) > 1e-5f * (1 + want)) badRoute++;
        }
    }
    int maxTiles = (T * k + E * (MOE_BM - 1)) / MOE_BM;
    std::vector<int> tileExpert(maxTiles, -9), sortedRow((size_t) maxTiles * MOE_BM, -9);
    std::vector<bf16> act((size_t) maxTiles * MOE_BM * I, b(NAN));
    int slices = (I + std::min(kChunk, I) - 1) / std::min(kChunk, I);
    long long sliceStride = (long long) T * k * H;
    std::vector<float> ys((size_t) slices * sliceStride, NAN);
    std::vector<bf16> out((size_t) T * ldo, b(NAN));
    launch(1, 1, 1024, [&] { moe_align(tileExpert.data(), sortedRow.data(), ids.data(), T, k, E, maxTiles, k); });
    launch(maxTiles, (I + 63) / 64, 128, [&] {
        moe_gate_up(act.data(), x.data(), gu.data(), tileExpert.data(), sortedRow.data(), k, H, I, ldx, H);
    });
    launch(maxTiles, slices * ((H + 127) / 128), 128, [&] {
        moe_down(ys.data(), act.data(), dn.data(), tileExpert.data(), sortedRow.data(), H, I, I, kChunk, sliceStride);
    });
    launch((H + 1023) / 1024, std::min(T, 65535), 256, [&] {
        moe_sum_bf16(out.data(), ys.data(), ids.data(), w.data(), T, k, H, E, ldo, k, k, slices, sliceStride);
    });
    std::vector<float> got, want;
    for (int t = 0; t < T; t++) {
        std::vector<double> o(H, 0.0);
        for (int j = 0; j < k; j++) {
            int e = ids[t * k + j];
            std::vector<float> a(I);
            for (int n = 0; n < I; n++) {
                double g = 0, u = 0;
                for (int c = 0; c < H; c++) {
                    g += (double) f(x[t * ldx + c]) * f(gu[((size_t) e * 2 * I + n) * H + c]);
                    u += (double) f(x[t * ldx + c]) * f(gu[((size_t) e * 2 * I + I + n) * H + c]);
                }
                a[n] = f(b((float) (g / (1 + std::exp(-g)) * u)));
            }
            for (int c = 0; c < H; c++) {
                double d = 0;
                for (int n = 0; n < I; n++) d += (double) a[n] * f(dn[((size_t) e * H + c) * I + n]);
                o[c] += w[t * k + j] * d;
            }
        }
        for (int c = 0; c < H; c++) {
            want.push_back((float) o[c]);
            got.push_back(f(out[t * ldo + c]));
        }
        for (long long c = H; c < ldo; c++) {
            if (!std::isnan(f(out[t * ldo + c]))) { printf("FAIL: moe_sum wrote past H in row %d\n", t); failures++; break; }
        }
    }
    char name[200];
    snprintf(name, sizeof name, "moe T=%d E=%d k=%d H=%d I=%d idle=%d renorm=%d (tiles %d, K slices %d)", T, E, k, H,
             I, idle, renorm, maxTiles, slices);
    if (badRoute) { printf("FAIL %s: %d router picks differ\n", name, badRoute); failures++; }
    check(name, got, want, 1e-5);
}

int main() {
    silu_case(2, 1024, 1024, 2048);
    silu_case(3, 100, 104, 200);
    silu_case(2, 1000, 1001, 2000);
    write_kv_case(4, 256, 768, 0);
    write_kv_case(3, 64, 100, 0);
    write_kv_case(3, 64, 128, 3);
    norm_case(3, 4096, 4096, 256, false);
    norm_case(2, 4096, 4104, 256, true);
    norm_case(2, 1000, 1000, 128, false);   // cols % 8 != 0: scalar path
    norm_case(2, 1000, 1003, 128, true);    // odd stride: scalar path
    norm_case(1, 8192, 8192, 512, true);
    norm_case(2, 64, 64, 128, false);       // fewer words than threads
    rope_case(3, 4, 2, 64, 64, 3);
    rope_case(2, 5, 1, 128, 64, 2);         // partial rotary, blocks past the pairs
    rope_case(2, 3, 3, 32, 32, 1);
    rope_write_case(3, 8, 2, 64, 64, 2);
    rope_write_case(2, 5, 1, 128, 64, 1);   // partial rotary: k dims past it copied
    rope_write_case(4, 4, 4, 32, 16, 3);
    // attention: no split (ctx <= splitSize everywhere), several splits, mixed
    attention_case(4, 2, 2, 128, 16, {{0, 5}, {20, 1}, {3, 2}}, 1 << 20, 1);
    attention_case(4, 2, 2, 128, 16, {{300, 1}, {64, 1}, {63, 1}, {65, 1}}, 64, 5);
    attention_case(1, 1, 3, 64, 16, {{200, 1}, {10, 3}}, 64, 4);
    attention_case(3, 2, 2, 96, 16, {{150, 2}, {0, 7}}, 32, 5);
    attention_case(8, 4, 1, 256, 16, {{130, 1}, {5, 1}}, 64, 3);
    attention_case(2, 1, 2, 16, 4, {{9, 1}, {0, 4}}, 64, 1);
    attention_case(4, 1, 2, 8, 4, {{40, 2}}, 16, 3);
    attention_case(7, 2, 1, 128, 16, {{100, 1}}, 64, 2);
    attention_case(1, 4, 1, 256, 16, {{70, 1}}, 64, 2);
    // decode: no split, many splits (last-block merge), varlen tokens of one sequence, block sizes
    // 16/32/4, head dims 64..256, GQA 1..8, contexts shorter than a warp's row batch
    attention_case(4, 0, 2, 128, 16, {{0, 5}, {20, 1}, {3, 2}}, 1 << 20, 1, DECODE);
    attention_case(4, 0, 2, 128, 16, {{300, 1}, {64, 1}, {63, 1}, {65, 1}}, 64, 5, DECODE);
    attention_case(4, 0, 1, 128, 32, {{1000, 1}, {0, 1}}, 16, 63, DECODE);
    attention_case(1, 0, 3, 128, 16, {{200, 1}, {10, 3}}, 64, 4, DECODE);
    attention_case(8, 0, 1, 64, 16, {{130, 1}, {5, 1}}, 32, 5, DECODE);
    attention_case(2, 0, 2, 80, 32, {{90, 2}, {0, 4}}, 1 << 20, 1, DECODE);
    attention_case(3, 0, 2, 96, 16, {{150, 2}, {0, 7}}, 64, 3, DECODE);
    attention_case(8, 0, 1, 256, 16, {{130, 1}, {5, 1}}, 64, 3, DECODE);
    attention_case(1, 0, 2, 256, 4, {{70, 1}}, 1 << 20, 1, DECODE);
    attention_case(7, 0, 1, 128, 16, {{100, 1}}, 64, 2, DECODE);
    attention_case(5, 0, 1, 64, 16, {{0, 1}, {1, 1}, {2, 1}}, 64, 1, DECODE);
    // tensor-core decode: contexts 1, 7, 16, 17 (a 16-key tile and one past it), 100, 600; block
    // sizes 16, 5, 4, 32; one split and many (last-block merge; splits of 16 leave warps 1-3
    // idle); G 1..16 (mma rows 8-15 in use from G = 9); D 64 and 128; varlen tokens
    attention_case(4, 0, 2, 128, 16, {{0, 1}, {6, 1}, {15, 1}, {16, 1}, {99, 1}}, 1 << 20, 1, DECODE_TC);
    attention_case(4, 0, 2, 128, 16, {{599, 1}, {99, 1}, {16, 1}}, 64, 10, DECODE_TC);
    attention_case(1, 0, 3, 128, 5, {{599, 1}, {6, 3}}, 64, 10, DECODE_TC);
    attention_case(2, 0, 2, 128, 5, {{16, 1}, {0, 4}}, 1 << 20, 1, DECODE_TC);
    attention_case(5, 0, 1, 128, 16, {{99, 2}, {7, 1}}, 32, 4, DECODE_TC);
    attention_case(8, 0, 1, 64, 16, {{600, 1}, {5, 1}}, 64, 10, DECODE_TC);
    attention_case(16, 0, 1, 128, 16, {{130, 1}, {5, 1}}, 64, 3, DECODE_TC);
    attention_case(16, 0, 1, 64, 5, {{99, 1}, {0, 1}}, 1 << 20, 1, DECODE_TC);
    attention_case(9, 0, 2, 64, 32, {{200, 2}}, 64, 4, DECODE_TC);
    attention_case(12, 0, 1, 128, 16, {{1000, 1}, {0, 1}}, 16, 63, DECODE_TC);
    attention_case(1, 0, 2, 64, 4, {{70, 1}}, 1 << 20, 1, DECODE_TC);
    attention_case(4, 0, 1, 64, 16, {{20, 3}, {0, 2}}, 32, 1, DECODE_TC);
    // grouped (attention.cu, unsplit): GQA 2/4/8, head dims 16..256 (pairs past a lane's share),
    // empty caches, varlen tokens of one sequence
    attention_case(2, 0, 2, 128, 16, {{0, 5}, {20, 1}, {3, 2}}, 0, 1, GROUP);
    attention_case(4, 0, 1, 256, 16, {{130, 1}, {5, 3}}, 0, 1, GROUP);
    attention_case(8, 0, 1, 64, 4, {{40, 2}, {0, 1}}, 0, 1, GROUP);
    attention_case(4, 0, 2, 80, 32, {{90, 2}}, 0, 1, GROUP);
    attention_case(2, 0, 3, 16, 4, {{9, 1}, {0, 4}}, 0, 1, GROUP);
    // flash: tiles straddling 64-token boundaries, cached prefixes, decode tokens, GQA 1..4
    attention_case(4, 0, 2, 128, 16, {{0, 70}, {30, 1}, {100, 9}}, 0, 0, FLASH);
    attention_case(1, 0, 2, 64, 16, {{0, 130}}, 0, 0, FLASH);
    attention_case(3, 0, 1, 64, 4, {{65, 64}, {0, 1}, {7, 3}}, 0, 0, FLASH);
    attention_case(2, 0, 1, 128, 16, {{200, 40}}, 0, 0, FLASH);
    // gemv: odd N (rows past N), K not a multiple of 32 or of a block's k span (8 warps x 8 chunks
    // x 32), several k spans per warp, K shorter than one chunk, strided x, w and out, T = 1..8
    gemv_case<1, bf16>(37, 264, 264, 264, 40);
    gemv_case<1, float>(100, 4096, 4104, 4096, 100);
    gemv_case<2, float>(16, 14336, 14336, 14344, 16);
    gemv_case<3, bf16>(33, 1032, 1040, 1032, 48);
    gemv_case<4, bf16>(31, 2056, 2064, 2056, 31);
    gemv_case<6, float>(5, 4096 + 2048 + 8, 6160, 6160, 9);
    gemv_case<7, bf16>(18, 520, 520, 528, 18);
    gemv_case<8, float>(17, 8, 16, 8, 20);
    gemv_case<5, bf16>(64, 776, 776, 784, 64);
    gemv_case<8, bf16>(1, 2048, 2048, 2048, 8);
    gemv_case<8, float>(48, 4096, 4096, 4096, 48);
    swiglu_case<1>(64, 4096, 4096, 4096, 64);
    swiglu_case<3>(37, 264, 272, 264, 40);
    swiglu_case<8>(13, 1032, 1032, 1040, 16);
    // norm in the GEMV prologue: rms_norm_bf16's block of 128 (K <= 1024), 256 and 512 threads
    // (two partial sums per real thread), K of one word, K not a multiple of 32, strided residual,
    // odd N, T = 1..8 up to the shared rows' 48 KiB
    norm_gemv_case<1, false>(37, 264, 264, 264, 40);
    norm_gemv_case<1, false>(64, 4096, 4096, 4096, 64);
    norm_gemv_case<3, false>(33, 1032, 1040, 1032, 48, 2);     // 3 tiles over 2 blocks
    norm_gemv_case<2, false>(100, 520, 520, 520, 100, 3);      // 7 tiles over 3 blocks, the last short
    norm_gemv_case<5, true>(37, 264, 264, 264, 37, 2);         // 5 gate/up tiles over 2 blocks
    norm_gemv_case<2, false>(20, 8192, 8200, 8192, 20);
    norm_gemv_case<5, false>(17, 4096, 4104, 4096, 17);
    norm_gemv_case<8, false>(16, 2048, 2048, 2056, 16);
    norm_gemv_case<7, false>(5, 8, 16, 8, 9);
    norm_gemv_case<4, false>(31, 1000, 1008, 1000, 31);
    norm_gemv_case<1, true>(64, 4096, 4096, 4096, 64);
    norm_gemv_case<4, true>(13, 1032, 1040, 1032, 16);
    norm_gemv_case<8, true>(9, 520, 528, 520, 9);
    norm_gemv_case<2, true>(24, 5120, 5120, 5120, 24);
    // 1 / rms in rms_norm_bf16's order for each of its block sizes, several sizes each
    inv_rms_case(264, 264, 128);
    inv_rms_case(1000, 1008, 128);
    inv_rms_case(4096, 4096, 256);
    inv_rms_case(2056, 2064, 256);
    inv_rms_case(8192, 8200, 512);
    inv_rms_case(5120, 5120, 512);
    inv_rms_case(8, 8, 128);
    // residual add in the GEMV epilogue
    gemv_add_case<1>(64, 4096, 4096, 4096, 64);
    gemv_add_case<2>(37, 1032, 1040, 1032, 40);
    gemv_add_case<5>(100, 264, 264, 272, 104);
    gemv_add_case<8>(17, 14336, 14336, 14336, 17);
    gemv_add_case<3>(5, 8, 8, 16, 8);
    // moe: N and K tails (H, I not multiples of the tiles), idle experts, k = 1 and k = E, many experts
    moe_case(3, 4, 2, 64, 128, 3, true);
    moe_case(70, 8, 2, 136, 200, 5, true, 64);  // down in 4 K slices, the last one short
    moe_case(1, 64, 6, 72, 48, -1, false);
    moe_case(5, 3, 3, 40, 24, -1, true);
    moe_case(9, 6, 1, 264, 136, 0, false, 32);
    // read_floor reads without writing (sink stays untouched)
    std::vector<uint4> data(10000);
    for (auto& d : data) d = make_uint4(rng(), rng(), rng(), rng());
    unsigned sink = 77;
    launch(3, 1, 64, [&] { read_floor(data.data(), (long long) data.size(), &sink); });
    printf("%s read_floor leaves the sink alone\n", sink == 77 ? "ok  " : "FAIL");
    if (sink != 77) failures++;
    printf(failures == 0 ? "kernel emulation: all OK\n" : "kernel emulation: %d FAILED\n", failures);
    return failures == 0 ? 0 : 1;
}
