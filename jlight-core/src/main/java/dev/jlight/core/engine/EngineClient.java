package dev.jlight.core.engine;

/** The engine as the server and the CLI use it; every method is thread-safe. */
public interface EngineClient {
    /**
     * Submits a request. Bad input throws {@link InvalidRequestException} here, on the caller's
     * thread, before anything reaches the engine.
     */
    RequestStream generate(EngineRequest request);

    /** Aborts a live request at the next step boundary; unknown ids are ignored. */
    void abort(String requestId);

    /** The latest snapshot, published after every step. */
    EngineMetrics metrics();
}
