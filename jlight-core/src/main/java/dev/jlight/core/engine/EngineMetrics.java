package dev.jlight.core.engine;

/**
 * A snapshot of the engine's state and counters since start; immutable, published by the
 * engine thread after each step and readable from any thread.
 *
 * @param running               sequences in the batch
 * @param waiting               sequences waiting for admission (preempted ones included)
 * @param kvUsage               fraction of KV blocks held by sequences
 * @param prefixCacheQueried    prompt tokens looked up in the prefix cache
 * @param prefixCacheHits       of those, tokens found cached
 * @param tokensForwarded       tokens run through the model (prefill chunks and decodes)
 * @param generatedTokens       tokens sampled
 * @param deviceSampledSteps    steps whose tokens the backend picked (only ids came back)
 * @param asyncSteps            of those, steps launched overlapped with the host's work (async scheduling)
 */
public record EngineMetrics(int running, int waiting, double kvUsage, long prefixCacheQueried, long prefixCacheHits,
                            long preemptions, long steps, long tokensForwarded, long generatedTokens,
                            long requestsAdmitted, long requestsFinished, long requestsAborted, long requestsFailed,
                            long deviceSampledSteps, long asyncSteps) {
    public static final EngineMetrics EMPTY = new EngineMetrics(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    public double prefixCacheHitRate() {
        return prefixCacheQueried == 0 ? 0 : (double) prefixCacheHits / prefixCacheQueried;
    }
}
