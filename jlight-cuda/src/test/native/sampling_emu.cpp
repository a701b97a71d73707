// Runs sampling.cu's sample_rows_f32 on the CPU (one std::thread per CUDA thread, a barrier for
// __syncthreads, one block at a time) and compares every row's token with a line-by-line C++
// port of the host Sampler's draw (jlight-core engine/sample/Sampler.java + ProbabilityFilters):
// greedy with ties, temperature, min_p, top_k with ties at the k-th, top_p with ties at the
// cut, -inf entries, a NaN row, block sizes that do and do not divide the vocabulary.
// The GPU twin of this check is CudaSamplingTest (against the Java Sampler itself).
// Build and run: src/test/native/run-kernel-emu.sh sampling_emu
#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

#include "emu_model.h"
#define JLIGHT_BLOCK_SHARED static   // block-shared arrays: one copy, as blocks run one at a time
static float __shfl_xor_sync(unsigned, float, int) { std::abort(); }
static unsigned __float_as_uint(float f) { unsigned u; memcpy(&u, &f, 4); return u; }
static float __uint_as_float(unsigned u) { float f; memcpy(&f, &u, 4); return f; }
static unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
    return std::atomic_ref<unsigned long long>(*p).fetch_add(v);
}
using std::min;

#include "../../main/cuda/sampling.cu"

static void launch(unsigned gx, unsigned bx, const std::function<void()>& fn) {
    blockDim.x = bx;
    gridDim.x = gx;
    for (unsigned b = 0; b < gx; b++) {
        std::barrier<> block((int) bx);
        g_block_barrier = &block;
        std::vector<std::thread> ts;
        for (unsigned t = 0; t < bx; t++) {
            ts.emplace_back([&, t, b] {
                threadIdx.x = t;
                blockIdx.x = b;
                fn();
                g_block_barrier->arrive_and_drop();
            });
        }
        for (auto& th : ts) th.join();
    }
}

// ---- the host Sampler, ported ---------------------------------------------------------------
static int ref_argmax(const float* x, int n) {
    int best = 0;
    float bv = -INFINITY;
    for (int i = 0; i < n; i++) if (x[i] > bv) { bv = x[i]; best = i; }
    return best;
}

static int ref_sample(const float* x, int vocab, const double* prm) {
    double temperature = prm[0], topP = prm[2], minP = prm[3], uniform = prm[4];
    int topK = (int) prm[1];
    if (temperature == 0) return ref_argmax(x, vocab);
    double inv = 1.0 / temperature, max = -INFINITY;
    for (int i = 0; i < vocab; i++) {
        double v = x[i] * inv;
        max = std::isnan(v) || std::isnan(max) ? NAN : std::max(max, v);
    }
    if (max == -INFINITY || std::isnan(max)) return ref_argmax(x, vocab);
    std::vector<double> p(vocab);
    for (int i = 0; i < vocab; i++) p[i] = std::exp(x[i] * inv - max);
    if (minP > 0) for (auto& v : p) if (v < minP) v = 0;
    if (topK > 0 && topK < vocab) {
        std::vector<double> nz;
        for (double v : p) if (v > 0) nz.push_back(v);
        if ((int) nz.size() > topK) {
            std::nth_element(nz.begin(), nz.begin() + (topK - 1), nz.end(), std::greater<double>());
            double kth = nz[topK - 1];
            for (auto& v : p) if (v < kth) v = 0;
        }
    }
    if (topP < 1) {
        double total = 0;
        for (double v : p) total += v;
        double target = topP * total;
        std::vector<int> order;
        for (int i = 0; i < vocab; i++) if (p[i] > 0) order.push_back(i);
        std::sort(order.begin(), order.end(), [&](int a, int b) { return p[a] != p[b] ? p[a] > p[b] : a < b; });
        int last = (int) order.size() - 1;
        double cum = 0;
        for (int i = 0; i < (int) order.size(); i++) {
            cum += p[order[i]];
            if (cum >= target) { last = i; break; }
        }
        double pv = p[order[last]];
        int idv = order[last];
        for (int i = 0; i < vocab; i++) if (p[i] < pv || (p[i] == pv && i > idv)) p[i] = 0;
    }
    double total = 0;
    int last = -1;
    for (int i = 0; i < vocab; i++) if (p[i] > 0) { total += p[i]; last = i; }
    double u = uniform * total, cum = 0;
    for (int i = 0; i < vocab; i++) {
        cum += p[i];
        if (p[i] > 0 && u < cum) return i;
    }
    return last;
}

// ---- cases ----------------------------------------------------------------------------------
static int failures = 0, checked = 0;

// levels > 0: logits drawn from that many distinct values (many exact ties)
static void run_case(const char* name, int vocab, int block, int levels, int nanRow, int negInf,
                     std::vector<std::vector<double>> params, unsigned seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> gauss(0, 3);
    std::uniform_int_distribution<int> level(0, std::max(levels - 1, 0));
    int rows = (int) params.size();
    std::vector<float> logits((size_t) rows * vocab);
    for (int r = 0; r < rows; r++) {
        for (int i = 0; i < vocab; i++) {
            logits[(size_t) r * vocab + i] = levels > 0 ? (float) level(rng) * 0.75f : gauss(rng);
        }
        for (int j = 0; j < negInf && j < vocab; j++) logits[(size_t) r * vocab + (rng() % vocab)] = -INFINITY;
        if (r == nanRow) logits[(size_t) r * vocab + vocab / 2] = NAN;
    }
    std::vector<double> packed;
    for (auto& p : params) packed.insert(packed.end(), p.begin(), p.end());
    std::vector<int> ids(rows, -7);
    launch((unsigned) rows, (unsigned) block, [&] {
        sample_rows_f32(ids.data(), logits.data(), packed.data(), rows, vocab, vocab, 1);
    });
    for (int r = 0; r < rows; r++) {
        int want = ref_sample(&logits[(size_t) r * vocab], vocab, &packed[(size_t) r * 5]);
        checked++;
        if (ids[r] != want) {
            failures++;
            const double* q = &packed[(size_t) r * 5];
            printf("MISMATCH %s row %d (T=%g k=%g p=%g minp=%g u=%g): kernel %d, host %d\n", name, r, q[0], q[1],
                   q[2], q[3], q[4], ids[r], want);
        }
    }
    printf("%-40s vocab=%-6d block=%-4d rows=%d\n", name, vocab, block, rows);
}

static std::vector<std::vector<double>> grid(unsigned seed, int n, std::vector<double> temps, std::vector<double> ks,
                                             std::vector<double> ps, std::vector<double> minps) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<std::vector<double>> out;
    for (double t : temps) for (double k : ks) for (double p : ps) for (double m : minps)
        for (int i = 0; i < n; i++) out.push_back({t, k, p, m, u(rng)});
    return out;
}

int main() {
    auto all = grid(1, 2, {0, 0.7, 1.3}, {0, 1, 5, 40}, {1, 0.9, 0.3}, {0, 0.05});
    run_case("gaussian", 1000, 64, 0, -1, 0, all, 11);
    run_case("gaussian, block > vocab", 37, 64, 0, -1, 0, grid(2, 2, {0, 1}, {0, 3}, {1, 0.8}, {0, 0.1}), 12);
    run_case("ties (8 levels)", 777, 32, 8, -1, 0, all, 13);
    run_case("ties (2 levels)", 300, 64, 2, -1, 0, grid(3, 3, {0, 1}, {0, 1, 7, 200}, {1, 0.9, 0.5, 0.01}, {0}), 14);
    run_case("all equal", 500, 64, 1, -1, 0, grid(4, 3, {0, 1}, {0, 3}, {1, 0.5}, {0}), 15);
    run_case("-inf entries", 400, 32, 0, -1, 150, grid(5, 2, {0, 1}, {0, 10}, {1, 0.7}, {0, 0.2}), 16);
    run_case("nan row", 300, 32, 0, 1, 0, grid(6, 1, {0, 1}, {0}, {1}, {0}), 17);
    run_case("large vocab", 20000, 256, 0, -1, 0, grid(7, 1, {0, 1}, {0, 50}, {1, 0.95}, {0, 0.01}), 18);
    printf("%d rows checked, %d mismatches\n", checked, failures);
    return failures == 0 ? 0 : 1;
}
