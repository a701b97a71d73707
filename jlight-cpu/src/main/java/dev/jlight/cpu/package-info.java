/**
 * The pure-Java CPU backend: {@link dev.jlight.cpu.CpuBackend} (found by {@code ServiceLoader}
 * as a {@code dev.jlight.core.backend.Backend}).
 *
 * <p>Layout: {@link dev.jlight.cpu.CpuTensor} (segment + dtype + shape + row stride; views share
 * the segment; a concatenation keeps its parts), {@code WorkerPool} (fixed threads that claim
 * chunks of an op from an atomic counter with the caller), {@code Matmul} + {@code MatmulKernels}
 * (the hot op), {@code Attention} (paged attention and K/V writes), {@code Ops} (norms,
 * elementwise, embedding, row gather), {@code Rope}, {@code Vec} (dtype loads/stores).
 *
 * <p>What the measurements on JDK 25 / AVX2 taught (kept in the code's comments where they apply):
 * <ul>
 *   <li>Vector loads from a {@code MemorySegment} at {@code base + 4L * k} inside an int loop
 *       keep a bounds check per load; slicing the row first so offsets start at 0 lets C2 hoist
 *       them (≈2x on the matmul tile). Activations are therefore copied into a heap
 *       {@code float[]} per call (fastest form for x), weights are sliced per row.</li>
 *   <li>BF16/F16 are widened as pairs: 2L values loaded as L ints, the even elements are
 *       {@code i << 16} and the odd ones {@code i & 0xffff0000} (for bf16), with x permuted once
 *       per call to match; a ShortVector → IntVector conversion per vector was ~1.5x slower.</li>
 *   <li>C2 inlines a loop's Vector API calls only within a node budget: more than about two f16
 *       widenings (or eight bf16 rows) per loop leaves calls that box every vector, 10x slower.
 *       A microbenchmark that counts GCs catches it ({@code -Xlog:gc}: a boxed kernel allocates).</li>
 *   <li>Weight rows must be streamed whole: cutting K into 512-element blocks made the batched
 *       path 1.6x slower from DRAM, and four rows read as four long streams (not four adjacent
 *       short rows) made GEMV with 4 KiB rows 1.25x faster.</li>
 * </ul>
 */
package dev.jlight.cpu;
