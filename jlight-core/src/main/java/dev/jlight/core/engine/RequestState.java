package dev.jlight.core.engine;

import java.util.ArrayList;
import java.util.List;

/**
 * A live request on the engine thread: its n choices, the siblings held back until the first
 * choice has computed the shared prompt (so they find it in the prefix cache), and its sink.
 */
final class RequestState {
    final String requestId;
    final int promptTokens;
    final OutputSink sink;
    final List<ChoiceState> choices = new ArrayList<>();
    final List<Sequence> held = new ArrayList<>();
    final long arrivalEpochMillis;
    final long arrivalNanos;
    long firstTokenNanos;
    long lastTokenNanos;

    RequestState(String requestId, int promptTokens, OutputSink sink, long arrivalEpochMillis, long arrivalNanos) {
        this.requestId = requestId;
        this.promptTokens = promptTokens;
        this.sink = sink;
        this.arrivalEpochMillis = arrivalEpochMillis;
        this.arrivalNanos = arrivalNanos;
    }

    boolean isFinished() {
        for (ChoiceState c : choices) {
            if (!c.isFinished()) {
                return false;
            }
        }
        return true;
    }

    int generatedTokens() {
        int n = 0;
        for (ChoiceState c : choices) {
            n += c.seq.numOutputTokens();
        }
        return n;
    }

    /** The update to publish after a step, or null when no choice changed. */
    RequestOutput drain() {
        List<CompletionDelta> deltas = new ArrayList<>();
        for (ChoiceState c : choices) {
            CompletionDelta d = c.drain();
            if (d != null) {
                deltas.add(d);
            }
        }
        if (deltas.isEmpty()) {
            return null;
        }
        return new RequestOutput(requestId, deltas, promptTokens, generatedTokens(), isFinished(),
                new RequestTiming(arrivalEpochMillis, arrivalNanos, firstTokenNanos, lastTokenNanos));
    }
}
