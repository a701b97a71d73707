package dev.jlight.server;

import dev.jlight.core.JLightException;
import dev.jlight.core.engine.SamplingParams;
import java.time.Duration;
import java.util.List;

/**
 * The HTTP side of {@code jlight serve}: where it listens, the names it answers to, the API key
 * and the per-request caps.
 *
 * @param servedModelNames   names the model answers to; the first is the one reported
 * @param apiKey             null: no authentication
 * @param maxTokensCap       null: up to max_model_len
 * @param maxWaitingRequests sequences that may wait beyond --max-num-seqs running; more get 503
 * @param shutdownGrace      how long running requests may go on after SIGTERM before they are aborted
 */
public record ServerOptions(String host, int port, List<String> servedModelNames, String apiKey,
                            long maxRequestBodyBytes, int maxN, Integer maxTokensCap, int maxStopSequences,
                            int maxLogprobs, int maxWaitingRequests, Duration shutdownGrace) {
    public static final long DEFAULT_MAX_REQUEST_BODY_BYTES = 8L << 20;
    public static final int DEFAULT_MAX_WAITING_REQUESTS = 1024;

    public ServerOptions {
        if (servedModelNames == null || servedModelNames.isEmpty()) {
            throw new JLightException("--served-model-name: at least one name is needed");
        }
        servedModelNames = List.copyOf(servedModelNames);
        if (apiKey != null && apiKey.isEmpty()) {
            apiKey = null;
        }
        check(port >= 0 && port <= 65535, "--port must be in [0, 65535], got " + port);
        check(maxRequestBodyBytes >= 1024, "--max-request-body-bytes must be >= 1024, got " + maxRequestBodyBytes);
        check(maxN >= 1 && maxN <= SamplingParams.MAX_N, "--max-n must be in [1, " + SamplingParams.MAX_N + "], got "
                + maxN);
        check(maxTokensCap == null || maxTokensCap >= 1, "--max-tokens-cap must be >= 1, got " + maxTokensCap);
        check(maxStopSequences >= 0 && maxStopSequences <= SamplingParams.MAX_STOP_STRINGS,
                "--max-stop-sequences must be in [0, " + SamplingParams.MAX_STOP_STRINGS + "], got " + maxStopSequences);
        check(maxLogprobs >= 0 && maxLogprobs <= SamplingParams.MAX_LOGPROBS,
                "--max-logprobs must be in [0, " + SamplingParams.MAX_LOGPROBS + "], got " + maxLogprobs);
        check(maxWaitingRequests >= 0, "--max-waiting-requests must be >= 0, got " + maxWaitingRequests);
        shutdownGrace = shutdownGrace == null ? Duration.ofSeconds(5) : shutdownGrace;
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new JLightException(message);
        }
    }

    /** The name responses report. */
    public String modelName() {
        return servedModelNames.getFirst();
    }
}
