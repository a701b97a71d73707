package dev.jlight.cuda;

/**
 * How the decode attention kernel (attention_decode.cu) cuts each token's context into splits:
 * {@code splitSize} positions per block, a grid of {@code maxSplits} splits per (token, KV head).
 * Decided from host-known values only (the context bound, not the step's lengths), so a captured
 * CUDA graph's grid stays valid for every step it replays.
 *
 * @param splitSize positions per split (a multiple of {@link #GRAIN} unless it is the whole bound)
 * @param maxSplits splits of the longest context the grid must cover
 */
record SplitPlan(int splitSize, int maxSplits) {

    /** Split boundaries fall on multiples of this (a block's warps take 32 rows per round at D=128). */
    static final int GRAIN = 32;
    /**
     * Fewer positions per split than this cost more in merging than they gain in parallelism. On
     * the H100 at batch 1 (context 512-640), splits of 128 beat 64 in two sessions' same-run
     * variants: 6.020 vs 6.031 ms (CUDA-core kernel) and 5.969 vs 6.023 ms (tensor-core kernel,
     * docs/results/2026-11-26-s4-run3-bench-gptfast).
     */
    static final int MIN_SPLIT = 128;
    /** Blocks per SM the grid aims for: the kernel keeps 2..4 resident, and a tail wave is cheap. */
    static final int BLOCKS_PER_SM = 3;

    /**
     * @param bound the longest context any token of the step (or the captured graph) may have
     * @param blocks (tokens × KV heads): the grid's blocks without splits
     * @param smCount the GPU's SMs
     */
    static SplitPlan of(int bound, long blocks, int smCount) {
        long want = (long) BLOCKS_PER_SM * smCount;
        if (bound <= MIN_SPLIT || blocks >= want) {
            return new SplitPlan(Math.max(bound, 1), 1);
        }
        long splits = (want + blocks - 1) / blocks;
        long size = Math.max(MIN_SPLIT, ((bound + splits - 1) / splits + GRAIN - 1) / GRAIN * GRAIN);
        if (size >= bound) {
            return new SplitPlan(bound, 1);
        }
        return new SplitPlan((int) size, (int) ((bound + size - 1) / size));
    }

    /** Splits of exactly {@code size} positions (tests force one split or many). */
    static SplitPlan fixed(int bound, int size) {
        int b = Math.max(bound, 1);
        return size >= b ? new SplitPlan(b, 1) : new SplitPlan(size, (b + size - 1) / size);
    }

    /** A plan that never splits (no room for the partials). */
    static SplitPlan whole(int bound) {
        return new SplitPlan(Math.max(bound, 1), 1);
    }
}
