// Elementwise ops on strided 2-D views: x += bias (per row), x += y, x *= s, out = silu(g) * u,
// and the f32/f16 -> bf16 conversion used when weights are uploaded.
// A 2-D view is (pointer, rows, cols, rowStride): element (r, c) at p[r * rowStride + c].
// Launch: grid (ceil(cols / blockDim.x) capped, min(rows, 65535)), blocks stride over both.
#include "common.cuh"

template <typename T>
__device__ void add_bias_impl(T* x, const bf16* bias, int rows, int cols, long long ldx) {
    for (int r = blockIdx.y; r < rows; r += gridDim.y) {
        T* row = x + r * ldx;
        for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x) {
            store(row + c, to_f32(row[c]) + to_f32(bias[c]));
        }
    }
}

// x [rows, cols] (stride ldx) += bias [cols] (bf16 weight)
extern "C" __global__ void add_bias_bf16(bf16* x, const bf16* bias, int rows, int cols, long long ldx) {
    pdl_entry();
    add_bias_impl(x, bias, rows, cols, ldx);
}
extern "C" __global__ void add_bias_f32(float* x, const bf16* bias, int rows, int cols, long long ldx) {
    pdl_entry();
    add_bias_impl(x, bias, rows, cols, ldx);
}

template <typename T>
__device__ void add_impl(T* x, const T* y, int rows, int cols, long long ldx, long long ldy) {
    for (int r = blockIdx.y; r < rows; r += gridDim.y) {
        for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x) {
            store(x + r * ldx + c, to_f32(x[r * ldx + c]) + to_f32(y[r * ldy + c]));
        }
    }
}

// x [rows, cols] (stride ldx) += y [rows, cols] (stride ldy), same dtype
extern "C" __global__ void add_bf16(bf16* x, const bf16* y, int rows, int cols, long long ldx, long long ldy) {
    pdl_entry();
    add_impl(x, y, rows, cols, ldx, ldy);
}
extern "C" __global__ void add_f32(float* x, const float* y, int rows, int cols, long long ldx, long long ldy) {
    pdl_entry();
    add_impl(x, y, rows, cols, ldx, ldy);
}

template <typename T>
__device__ void scale_impl(T* x, float s, int rows, int cols, long long ldx) {
    for (int r = blockIdx.y; r < rows; r += gridDim.y) {
        for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x) {
            store(x + r * ldx + c, to_f32(x[r * ldx + c]) * s);
        }
    }
}

// x [rows, cols] (stride ldx) *= s
extern "C" __global__ void scale_bf16(bf16* x, float s, int rows, int cols, long long ldx) {
    pdl_entry();
    scale_impl(x, s, rows, cols, ldx);
}
extern "C" __global__ void scale_f32(float* x, float s, int rows, int cols, long long ldx) {
    pdl_entry();
    scale_impl(x, s, rows, cols, ldx);
}

// out [rows, inter] (stride ldo) = silu(gu[:, :inter]) * gu[:, inter:]; gu [rows, 2*inter] (stride ldg).
// Aligned views (inter, strides multiples of 8, 16-byte aligned pointers) go 8 bf16 per 16-byte
// load; the math per element is the same either way.
extern "C" __global__ void silu_mul_bf16(bf16* out, const bf16* gu, int rows, int inter, long long ldo,
                                         long long ldg) {
    pdl_entry();
    bool vec = (inter & 7) == 0 && (ldo & 7) == 0 && (ldg & 7) == 0 && ((uintptr_t) out & 15) == 0
               && ((uintptr_t) gu & 15) == 0;
    for (int r = blockIdx.y; r < rows; r += gridDim.y) {
        const bf16* g = gu + r * ldg;
        if (vec) {
            int n8 = inter >> 3;
            for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < n8; c += gridDim.x * blockDim.x) {
                union { uint4 u; bf16 h[8]; } ga, ub, o;
                ga.u = reinterpret_cast<const uint4*>(g)[c];
                ub.u = reinterpret_cast<const uint4*>(g + inter)[c];
#pragma unroll
                for (int e = 0; e < 8; e++) {
                    float a = to_f32(ga.h[e]);
                    float b = to_f32(ub.h[e]);
                    o.h[e] = __float2bfloat16_rn(a / (1.0f + expf(-a)) * b);
                }
                reinterpret_cast<uint4*>(out + r * ldo)[c] = o.u;
            }
        } else {
            for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < inter; c += gridDim.x * blockDim.x) {
                float a = to_f32(g[c]);
                float b = to_f32(g[inter + c]);
                store(out + r * ldo + c, a / (1.0f + expf(-a)) * b);
            }
        }
    }
}

// out [n] bf16 = in [n] f32, round to nearest even (as torch's .to(bfloat16))
extern "C" __global__ void convert_f32_bf16(bf16* out, const float* in, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        out[i] = __float2bfloat16_rn(in[i]);
    }
}

// out [n] bf16 = in [n] f16
extern "C" __global__ void convert_f16_bf16(bf16* out, const __half* in, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        out[i] = __float2bfloat16_rn(__half2float(in[i]));
    }
}

// Copies a strided view into dense memory (for downloads of views): out [rows, cols*elem bytes]
// dense, in [rows, cols] with a row stride of ldin elements; elemBytes 2 or 4.
extern "C" __global__ void compact_rows(char* out, const char* in, int rows, long long rowBytes, long long ldinBytes) {
    for (int r = blockIdx.y; r < rows; r += gridDim.y) {
        for (long long c = blockIdx.x * (long long) blockDim.x + threadIdx.x; c < rowBytes; c += (long long) gridDim.x * blockDim.x) {
            out[r * rowBytes + c] = in[r * ldinBytes + c];
        }
    }
}

// Reads n 16-byte words once (the memory-read floor of benchmarks: all weights read in one
// pass, as a decode step must). The XOR of everything is written to sink only if it equals a
// constant no real data is expected to give, so the loads are kept but nothing is written.
// Grid-stride, four independent loads per iteration; streaming loads (evict first).
extern "C" __global__ void read_floor(const uint4* p, long long n, unsigned int* sink) {
    const long long stride = (long long) gridDim.x * blockDim.x;
    long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    unsigned int acc = 0;
    for (; i + 3 * stride < n; i += 4 * stride) {
        uint4 a = __ldcs(p + i), b = __ldcs(p + i + stride), c = __ldcs(p + i + 2 * stride),
              d = __ldcs(p + i + 3 * stride);
        acc ^= a.x ^ a.y ^ a.z ^ a.w ^ b.x ^ b.y ^ b.z ^ b.w ^ c.x ^ c.y ^ c.z ^ c.w ^ d.x ^ d.y ^ d.z ^ d.w;
    }
    for (; i < n; i += stride) {
        uint4 a = __ldcs(p + i);
        acc ^= a.x ^ a.y ^ a.z ^ a.w;
    }
    if (acc == 0x9e3779b9u && sink != nullptr) *sink = acc;
}
