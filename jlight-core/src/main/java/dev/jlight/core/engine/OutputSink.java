package dev.jlight.core.engine;

/** Where the engine thread publishes a request's outputs. Implementations must not block. */
public interface OutputSink {
    void accept(RequestOutput output);

    /** The request failed (e.g. the model threw); no more outputs follow. */
    void fail(Throwable error);
}
