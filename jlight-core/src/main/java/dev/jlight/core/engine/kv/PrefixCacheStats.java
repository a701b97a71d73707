package dev.jlight.core.engine.kv;

/**
 * Prefix-cache counters since start, counted once per admission of a sequence (a preempted
 * sequence counts again when it comes back): tokens looked up and tokens found cached.
 */
public record PrefixCacheStats(long queries, long queriedTokens, long hitTokens) {
    public double hitRate() {
        return queriedTokens == 0 ? 0.0 : (double) hitTokens / queriedTokens;
    }
}
