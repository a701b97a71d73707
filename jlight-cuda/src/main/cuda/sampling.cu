// Token sampling on the device, so a step downloads R token ids instead of [R, vocab] logits.
// Reproduces the host Sampler (jlight-core engine/sample/Sampler.java) rule for rule:
//   temperature 0: argmax, ties to the lowest id, NaN never wins (all -inf/NaN: token 0);
//   else p_i = exp(x_i * (1/T) - max) in double (a NaN anywhere, or max = -inf: argmax);
//   min_p drops p < min_p; top_k keeps the k largest (ties with the k-th kept);
//   top_p keeps the smallest set of most likely tokens reaching top_p of the kept mass, in
//   (p desc, id asc) order, the crossing token included; then the first token in id order whose
//   cumulative kept mass exceeds u * (kept total), u drawn on the host from the row's own RNG.
// One block per row, a power-of-two number of threads (<= 1024). Sort-free: top_k and top_p
// cut-offs are found by 4-round radix selects (8 bits a round) over an order-preserving 32-bit
// key of the logit (p is monotone in x), counting tokens for top_k and summing their mass for
// top_p. Masses in the radix rounds are 2^-40 fixed point in 64-bit integers, so the atomics
// are order-independent and a row gives the same token on every run; the final draw scans
// doubles in a fixed order. Results differ from the host's only where its double sums in
// another order would fall on the other side of a boundary.
#include "common.cuh"

#define SAMPLE_MAX_THREADS 1024
#define SAMPLE_FIELDS 5            // DeviceSampling.FIELDS: temperature, top_k, top_p, min_p, uniform
#define SAMPLE_FIXED_ONE 1099511627776.0  // 2^40: p (<= 1) in fixed point

// Order-preserving key of a float: a larger float has a larger unsigned key.
__device__ __forceinline__ unsigned sample_key(float x) {
    unsigned u = __float_as_uint(x);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

__device__ __forceinline__ float sample_unkey(unsigned k) {
    return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

// The per-row state the passes share.
struct SampleRow {
    const float* x;
    int vocab;
    double inv;      // 1 / temperature
    double max;      // max_i x_i * inv
    double minP;
    unsigned kKey;   // tokens with key >= kKey survive top_k (0: all)
    unsigned pKey;   // top_p: keys above pKey kept, and ties at pKey with id <= pId
    int pId;         // INT_MAX: no top_p cut
};

__device__ __forceinline__ double sample_p(const SampleRow& r, float x) {
    return exp((double) x * r.inv - r.max);
}

// Survives min_p and top_k (p > 0 included); writes p.
__device__ __forceinline__ bool sample_survives(const SampleRow& r, int i, unsigned* key, double* p) {
    float x = r.x[i];
    *key = sample_key(x);
    if (*key < r.kKey) return false;
    *p = sample_p(r, x);
    return *p > 0 && !(r.minP > 0 && *p < r.minP);
}

__device__ __forceinline__ bool sample_kept(const SampleRow& r, int i, double* p) {
    unsigned key;
    if (!sample_survives(r, i, &key, p)) return false;
    return key > r.pKey || (key == r.pKey && i <= r.pId);
}

// Tree reductions over buf[0, blockDim) in a fixed order (deterministic); result in every thread.
__device__ double sample_sum(double v, double* buf) {
    buf[threadIdx.x] = v;
    __syncthreads();
    for (int s = blockDim.x >> 1; s > 0; s >>= 1) {
        if ((int) threadIdx.x < s) buf[threadIdx.x] += buf[threadIdx.x + s];
        __syncthreads();
    }
    double r = buf[0];
    __syncthreads();
    return r;
}

// Inclusive prefix sum over the block (Hillis-Steele, fixed order); returns this thread's.
__device__ double sample_scan(double v, double* buf) {
    buf[threadIdx.x] = v;
    __syncthreads();
    for (int o = 1; o < (int) blockDim.x; o <<= 1) {
        double add = (int) threadIdx.x >= o ? buf[threadIdx.x - o] : 0.0;
        __syncthreads();
        buf[threadIdx.x] += add;
        __syncthreads();
    }
    double r = buf[threadIdx.x];
    __syncthreads();
    return r;
}

// Argmax with ties to the lowest id; candidates are values > -inf (NaN never wins). Token 0 if none.
__device__ int sample_argmax(const float* x, int vocab, float* vbuf, int* ibuf) {
    float best = -INFINITY;
    int bi = vocab;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        if (x[i] > best) { best = x[i]; bi = i; }    // strided ascending: the first max of this thread
    }
    vbuf[threadIdx.x] = best;
    ibuf[threadIdx.x] = bi;
    __syncthreads();
    for (int s = blockDim.x >> 1; s > 0; s >>= 1) {
        int t = threadIdx.x;
        if (t < s) {
            float v = vbuf[t + s];
            int j = ibuf[t + s];
            if (v > vbuf[t] || (v == vbuf[t] && j < ibuf[t])) { vbuf[t] = v; ibuf[t] = j; }
        }
        __syncthreads();
    }
    int r = ibuf[0];
    __syncthreads();
    return r < vocab ? r : 0;
}

// Radix select from the top over the surviving tokens' keys: the key where the running weight
// (count for top_k, fixed-point mass for top_p), accumulated from the largest key down, first
// reaches target. *above gets the weight of the keys strictly greater than the result.
template <bool MASS>
__device__ unsigned sample_select(const SampleRow& r, unsigned long long target, unsigned long long* hist,
                                  unsigned long long* above) {
    unsigned prefix = 0, mask = 0;
    unsigned long long done = 0;   // weight of keys above the current prefix range
    for (int shift = 24; shift >= 0; shift -= 8) {
        for (int b = threadIdx.x; b < 256; b += blockDim.x) hist[b] = 0;
        __syncthreads();
        for (int i = threadIdx.x; i < r.vocab; i += blockDim.x) {
            unsigned key;
            double p;
            if (sample_survives(r, i, &key, &p) && (key & mask) == prefix) {
                unsigned long long w = MASS ? (unsigned long long) (p * SAMPLE_FIXED_ONE) : 1ull;
                atomicAdd(&hist[(key >> shift) & 255u], w);
            }
        }
        __syncthreads();
        // every thread walks the 256 bins (same values, same answer): no broadcast needed
        unsigned long long cum = done;
        int bin = 0;
        for (int b = 255; b >= 0; b--) {
            if (cum + hist[b] >= target) { bin = b; break; }
            cum += hist[b];
        }
        done = cum;
        prefix |= (unsigned) bin << shift;
        mask |= 255u << shift;
        __syncthreads();
    }
    *above = done;
    return prefix;
}

// Thread t owns the contiguous ids [t*c, min((t+1)*c, vocab)), c = ceil(vocab / blockDim), so a
// walk in id order is a block scan over the threads' chunk totals plus one thread's own walk.
__device__ __forceinline__ int sample_chunk(int vocab) {
    return (vocab + blockDim.x - 1) / blockDim.x;
}

// The thread whose chunk holds the result writes it to *out; every thread reads it after.
__device__ int sample_broadcast(int mine, int* out) {
    if (threadIdx.x == 0) *out = -1;
    __syncthreads();
    if (mine >= 0) *out = mine;    // at most one thread has mine >= 0
    __syncthreads();
    int r = *out;
    __syncthreads();
    return r;
}

// Id of the n-th (1-based) top_k survivor whose key is key, in id order (n <= their count).
__device__ int sample_nth_tie(const SampleRow& r, unsigned key, double n, double* buf, int* out) {
    int c = sample_chunk(r.vocab);
    int from = threadIdx.x * c, to = min(from + c, r.vocab);
    double count = 0;
    for (int i = from; i < to; i++) {
        unsigned k;
        double p;
        if (sample_survives(r, i, &k, &p) && k == key) count++;
    }
    double incl = sample_scan(count, buf);
    int mine = -1;
    if (incl - count < n && n <= incl) {
        double seen = incl - count;
        for (int i = from; i < to; i++) {
            unsigned k;
            double p;
            if (sample_survives(r, i, &k, &p) && k == key && ++seen == n) { mine = i; break; }
        }
    }
    return sample_broadcast(mine, out);
}

// Sum over the block of a 64-bit integer (order-independent, so exact and deterministic).
__device__ unsigned long long sample_sum_fixed(unsigned long long v, unsigned long long* acc) {
    if (threadIdx.x == 0) *acc = 0;
    __syncthreads();
    atomicAdd(acc, v);
    __syncthreads();
    unsigned long long r = *acc;
    __syncthreads();
    return r;
}

// A random row: min_p / top_k / top_p cut-offs, then the token where u * kept mass falls.
__device__ int sample_draw(const float* x, int vocab, double temperature, long long topK, double topP, double minP,
                           double u, float m, double* buf, unsigned long long* hist, int* out) {
    SampleRow r;
    r.x = x;
    r.vocab = vocab;
    r.inv = 1.0 / temperature;
    r.max = (double) m * r.inv;      // = max_i x_i * inv: multiplying by inv > 0 is monotone
    r.minP = minP;
    r.kKey = 0;
    r.pKey = 0;                      // no float has key 0 but a negative NaN, and NaN rows never get here
    r.pId = 0x7fffffff;
    if (topK > 0 && topK < vocab) {
        double n = 0;
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
            unsigned k;
            double p;
            if (sample_survives(r, i, &k, &p)) n++;
        }
        if (sample_sum(n, buf) > (double) topK) {
            unsigned long long above;
            r.kKey = sample_select<false>(r, (unsigned long long) topK, hist, &above);
        }
    }
    if (topP < 1) {
        unsigned long long q = 0;
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
            unsigned k;
            double p;
            if (sample_survives(r, i, &k, &p)) q += (unsigned long long) (p * SAMPLE_FIXED_ONE);
        }
        unsigned long long total = sample_sum_fixed(q, hist);
        double t = ceil(topP * (double) total);
        unsigned long long target = t >= (double) total ? total : (unsigned long long) t;
        unsigned long long above;
        unsigned key = sample_select<true>(r, target, hist, &above);
        // the tied tokens at key enter in id order until the mass reaches the target
        double ties = 0;
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
            unsigned k;
            double p;
            if (sample_survives(r, i, &k, &p) && k == key) ties++;
        }
        ties = sample_sum(ties, buf);
        unsigned long long qv = (unsigned long long) (sample_p(r, sample_unkey(key)) * SAMPLE_FIXED_ONE);
        double need = qv == 0 || target <= above ? ties : ceil((double) (target - above) / (double) qv);
        r.pId = sample_nth_tie(r, key, fmin(fmax(need, 1.0), ties), buf, out);
        r.pKey = key;
    }
    // the draw: first kept id whose running mass (id order) exceeds u * kept total
    int c = sample_chunk(vocab);
    int from = threadIdx.x * c, to = min(from + c, vocab);
    double mass = 0;
    int last = -1;
    for (int i = from; i < to; i++) {
        double p;
        if (sample_kept(r, i, &p)) { mass += p; last = i; }
    }
    double incl = sample_scan(mass, buf);
    double before = threadIdx.x > 0 ? buf[threadIdx.x - 1] : 0.0;   // exactly the previous chunk's incl
    double total = buf[blockDim.x - 1];
    __syncthreads();
    double thr = u * total;
    int mine = -1;
    if (before <= thr && thr < incl) {   // at most one chunk: the ranges tile [0, total)
        double cum = before;
        for (int i = from; i < to && mine < 0; i++) {
            double p;
            if (sample_kept(r, i, &p)) {
                cum += p;
                if (thr < cum) mine = i;
            }
        }
        if (mine < 0) mine = last;       // this walk's rounding left thr past the chunk: its last kept
    }
    int token = sample_broadcast(mine, out);
    if (token >= 0) return token;
    // thr at or past the kept total (rounding): the last kept token, as the host does
    buf[threadIdx.x] = last;
    __syncthreads();
    for (int s = blockDim.x >> 1; s > 0; s >>= 1) {
        if ((int) threadIdx.x < s) buf[threadIdx.x] = fmax(buf[threadIdx.x], buf[threadIdx.x + s]);
        __syncthreads();
    }
    token = (int) buf[0];
    __syncthreads();
    return token;
}

// ids [rows] (stride ldi) = the token picked for each row of logits [rows, vocab] (stride ldl)
// under params [rows, SAMPLE_FIELDS] doubles.
extern "C" __global__ void __launch_bounds__(SAMPLE_MAX_THREADS)
sample_rows_f32(int* ids, const float* logits, const double* params, int rows, int vocab, long long ldl,
                long long ldi) {
    pdl_entry();
    JLIGHT_BLOCK_SHARED double buf[SAMPLE_MAX_THREADS];
    JLIGHT_BLOCK_SHARED unsigned long long hist[256];
    JLIGHT_BLOCK_SHARED int out;
    float* vbuf = (float*) buf;
    int* ibuf = (int*) (vbuf + SAMPLE_MAX_THREADS);
    for (int row = blockIdx.x; row < rows; row += gridDim.x) {
        const float* x = logits + (long long) row * ldl;
        const double* prm = params + (long long) row * SAMPLE_FIELDS;
        double temperature = prm[0], topP = prm[2], minP = prm[3], u = prm[4];
        long long topK = (long long) prm[1];
        int token;
        if (temperature == 0) {
            token = sample_argmax(x, vocab, vbuf, ibuf);
        } else {
            // max and NaN over the row: the host's Math.max turns NaN into NaN, then argmax
            float m = -INFINITY;
            float nan = 0;
            for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
                float v = x[i];
                m = fmaxf(m, v);
                if (v != v) nan = 1;
            }
            vbuf[threadIdx.x] = m;
            vbuf[SAMPLE_MAX_THREADS + threadIdx.x] = nan;
            __syncthreads();
            for (int s = blockDim.x >> 1; s > 0; s >>= 1) {
                int t = threadIdx.x;
                if (t < s) {
                    vbuf[t] = fmaxf(vbuf[t], vbuf[t + s]);
                    vbuf[SAMPLE_MAX_THREADS + t] = fmaxf(vbuf[SAMPLE_MAX_THREADS + t], vbuf[SAMPLE_MAX_THREADS + t + s]);
                }
                __syncthreads();
            }
            m = vbuf[0];
            nan = vbuf[SAMPLE_MAX_THREADS];
            __syncthreads();
            if (nan != 0 || m == -INFINITY) {
                token = sample_argmax(x, vocab, vbuf, ibuf);
            } else {
                token = sample_draw(x, vocab, temperature, topK, topP, minP, u, m, buf, hist, &out);
            }
        }
        if (threadIdx.x == 0) ids[row * ldi] = token;
        __syncthreads();
    }
}
