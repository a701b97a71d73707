package dev.jlight.core.engine;

import java.util.List;

/**
 * One update of a request, published after an engine step: the deltas of the choices that
 * changed, and cumulative counts for usage. The last update of a request has
 * {@code finished} true (every choice has a finish reason).
 *
 * @param promptTokens    prompt length (counted once, whatever n is)
 * @param generatedTokens tokens generated so far over all choices
 */
public record RequestOutput(String requestId, List<CompletionDelta> choices, int promptTokens, int generatedTokens,
                            boolean finished, RequestTiming timing) {
    public RequestOutput {
        choices = List.copyOf(choices);
    }
}
