// Shared helpers for JLight's kernels: bf16 <-> f32, block reductions, dtype-generic loads.
// Every kernel file includes this; kernels.cu includes every kernel file (one nvcc call, one
// fatbin). All math is f32; tensors in device memory are bf16 unless a kernel says otherwise.
#pragma once
#include <cuda_bf16.h>
#include <stdint.h>

// A block's fixed-size shared array (the CPU emulator of src/test/native makes it a static, one
// per kernel, since it runs one block at a time).
#ifndef JLIGHT_BLOCK_SHARED
#define JLIGHT_BLOCK_SHARED __shared__
#endif

// Programmatic dependent launch (Hopper): a kernel that the host launches with the
// PROGRAMMATIC_STREAM_SERIALIZATION attribute (Kernels.PDL lists them) may be scheduled while
// the kernel before it on the stream is still running, so its blocks' launch and prologue hide
// behind that kernel's tail instead of starting after it drains (at batch 1 a decode step is ~290
// short kernels). pdl_entry() must come before the kernel's first read of anything an earlier
// kernel wrote and before its first global write: griddepcontrol.wait returns once the previous
// grid has completed and its memory is visible. launch_dependents then lets the next kernel
// launch early in turn. Without the attribute (or before sm_90, or in the CPU emulator) both are
// no-ops, so the kernels stay correct under plain launches.
__device__ __forceinline__ void pdl_entry() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;" :::);
#endif
}

// Asks the TMA unit to pull [p, p + bytes) into L2 (bytes a multiple of 16, p 16-byte aligned)
// and returns at once: no registers wait on it. For data no earlier kernel of the step writes
// (weights), so it may run before pdl_entry(). A no-op before sm_90 and in the CPU emulator.
__device__ __forceinline__ void l2_prefetch(const void* p, int bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    if (bytes > 0) asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(p), "r"(bytes) : "memory");
#endif
}

typedef __nv_bfloat16 bf16;
typedef __nv_bfloat162 bf162;

__device__ __forceinline__ float to_f32(bf16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ void store(bf16* p, float v) { *p = __float2bfloat16_rn(v); }
__device__ __forceinline__ void store(float* p, float v) { *p = v; }

// Sum of v over the warp, result in every lane.
__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum of v over the block (blockDim.x a multiple of 32, at most 1024), result in every thread.
// scratch: 32 floats of shared memory; the function ends with a barrier so it can be reused.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    v = warp_sum(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float t = lane < nwarps ? scratch[lane] : 0.0f;
    t = warp_sum(t);
    __syncthreads();
    return t;
}
