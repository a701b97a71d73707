package dev.jlight.core.engine;

/**
 * Engine limits (vLLM names). The pool size and block size come from the KV cache itself.
 *
 * @param maxModelLen          prompt plus output tokens a sequence may reach
 * @param maxNumBatchedTokens  token budget of one step (vLLM's default 2048)
 * @param maxNumSeqs           sequences running at once (vLLM's default 256)
 * @param enablePrefixCaching  share full prompt blocks between requests by content hash
 * @param seed                 seeds the RNGs of requests that bring no seed
 * @param policy               scheduling order (FCFS by default)
 * @param asyncScheduling      overlap the host's work around a step with the backend's next step
 *                             when the model launches asynchronously and samples on the device
 *                             (vLLM's async scheduling; on by default,
 *                             {@code -Djlight.asyncScheduling=false} turns it off)
 */
public record EngineOptions(int maxModelLen, int maxNumBatchedTokens, int maxNumSeqs, boolean enablePrefixCaching,
                            long seed, SchedulingPolicy policy, boolean asyncScheduling) {
    public static final int DEFAULT_MAX_NUM_BATCHED_TOKENS = 2048;
    public static final int DEFAULT_MAX_NUM_SEQS = 256;

    public EngineOptions {
        if (maxModelLen < 2) {
            throw new IllegalArgumentException("max_model_len must be >= 2, got " + maxModelLen);
        }
        if (maxNumBatchedTokens < 1) {
            throw new IllegalArgumentException("max_num_batched_tokens must be >= 1, got " + maxNumBatchedTokens);
        }
        if (maxNumSeqs < 1) {
            throw new IllegalArgumentException("max_num_seqs must be >= 1, got " + maxNumSeqs);
        }
        policy = policy == null ? SchedulingPolicy.fcfs() : policy;
    }

    /** Options with overlapped scheduling as the system property says (on unless it is "false"). */
    public EngineOptions(int maxModelLen, int maxNumBatchedTokens, int maxNumSeqs, boolean enablePrefixCaching,
                         long seed, SchedulingPolicy policy) {
        this(maxModelLen, maxNumBatchedTokens, maxNumSeqs, enablePrefixCaching, seed, policy, defaultAsyncScheduling());
    }

    /** On unless {@code -Djlight.asyncScheduling=false}. */
    public static boolean defaultAsyncScheduling() {
        return !"false".equals(System.getProperty("jlight.asyncScheduling"));
    }

    public static EngineOptions defaults(int maxModelLen) {
        return new EngineOptions(maxModelLen, DEFAULT_MAX_NUM_BATCHED_TOKENS, DEFAULT_MAX_NUM_SEQS, true, 0L, null);
    }

    public EngineOptions withMaxNumBatchedTokens(int v) {
        return new EngineOptions(maxModelLen, v, maxNumSeqs, enablePrefixCaching, seed, policy, asyncScheduling);
    }

    public EngineOptions withMaxNumSeqs(int v) {
        return new EngineOptions(maxModelLen, maxNumBatchedTokens, v, enablePrefixCaching, seed, policy, asyncScheduling);
    }

    public EngineOptions withPrefixCaching(boolean v) {
        return new EngineOptions(maxModelLen, maxNumBatchedTokens, maxNumSeqs, v, seed, policy, asyncScheduling);
    }

    public EngineOptions withSeed(long v) {
        return new EngineOptions(maxModelLen, maxNumBatchedTokens, maxNumSeqs, enablePrefixCaching, v, policy,
                asyncScheduling);
    }

    public EngineOptions withAsyncScheduling(boolean v) {
        return new EngineOptions(maxModelLen, maxNumBatchedTokens, maxNumSeqs, enablePrefixCaching, seed, policy, v);
    }
}
