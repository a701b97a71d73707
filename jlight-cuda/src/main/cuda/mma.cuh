// The tensor-core instruction the hand-written GEMM-like kernels share (flash attention, MoE
// experts): mma.sync m16n8k16, bf16 inputs, f32 accumulate. The CPU emulator of src/test/native
// defines JLIGHT_EMU and its own mma_16816 with the PTX fragment layouts.
#pragma once
#include "common.cuh"

#ifndef JLIGHT_EMU
// D (16x8, f32) += A (16x16 bf16, row-major fragments) * B (16x8 bf16, column fragments)
__device__ __forceinline__ void mma_16816(float* d, const unsigned* a, const unsigned* b) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
#endif
