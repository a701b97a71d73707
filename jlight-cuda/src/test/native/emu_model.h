// The CUDA execution model for the CPU emulators of src/main/cuda kernels (kernel_emu.cpp,
// sampling_emu.cpp): one std::thread per CUDA thread, one block at a time; __syncthreads is a
// block barrier; CUDA's qualifiers are emptied so a kernel file compiles as plain C++.
#pragma once
#include <barrier>

#include <cuda_bf16.h>

struct Dim3 { unsigned x = 1, y = 1, z = 1; };
thread_local Dim3 threadIdx, blockIdx;
Dim3 blockDim, gridDim;
static std::barrier<>* g_block_barrier;

#undef __global__
#undef __device__
#undef __forceinline__
#undef __shared__
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__

static void __syncthreads() { g_block_barrier->arrive_and_wait(); }
