package dev.jlight.core.engine;

/**
 * When a request arrived and produced tokens, for TTFT and TPOT metrics ({@link System#nanoTime()}
 * values; 0 when no token yet), plus the wall-clock arrival for OpenAI's {@code created}.
 */
public record RequestTiming(long arrivalEpochMillis, long arrivalNanos, long firstTokenNanos, long lastTokenNanos) {
    /** Time to first token, or -1 before it. */
    public long ttftNanos() {
        return firstTokenNanos == 0 ? -1 : firstTokenNanos - arrivalNanos;
    }
}
