package dev.jlight.core.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The output side of one sequence: detokenizes each sampled token, checks stop tokens, stop
 * strings and max_tokens, and collects the delta to publish after the step.
 */
final class ChoiceState {
    final Sequence seq;
    final int index;
    final RequestState request;
    private final TextDecoder decoder;
    private final StopStringMatcher stops;
    private final Set<Integer> eos;
    private final boolean wantLogprobs;
    private final List<Integer> newTokens = new ArrayList<>();
    private final StringBuilder newText = new StringBuilder();
    private final List<TokenLogprobs> newLogprobs = new ArrayList<>();
    private FinishReason finish;
    private Object stopReason;
    private boolean finishPublished;
    private boolean dirty;

    ChoiceState(RequestState request, Sequence seq, int index, TextDecoder decoder, Set<Integer> eos) {
        this.request = request;
        this.seq = seq;
        this.index = index;
        this.decoder = decoder;
        this.stops = new StopStringMatcher(seq.params().stop(), seq.params().includeStopStrInOutput());
        this.eos = eos;
        this.wantLogprobs = seq.params().logprobs() != null;
    }

    FinishReason finishReason() {
        return finish;
    }

    boolean isFinished() {
        return finish != null;
    }

    /** Handles a token just appended to the sequence; returns the finish reason if it ended it. */
    FinishReason onToken(int token, TokenLogprobs logprobs) {
        SamplingParams p = seq.params();
        dirty = true;
        newTokens.add(token);
        if (wantLogprobs) {
            newLogprobs.add(logprobs);
        }
        boolean active = seq.numOutputTokens() >= p.minTokens();
        boolean stopId = active && p.stopTokenIds().contains(token);
        boolean stopToken = stopId || (active && !p.ignoreEos() && eos.contains(token));
        if (!stopToken || p.includeStopStrInOutput()) {
            StopStringMatcher.Result r = stops.append(decoder.next(token), active);
            newText.append(r.text());
            if (r.stop() != null) {
                return end(FinishReason.STOP, r.stop());
            }
        }
        if (stopToken) {
            return endFlushing(FinishReason.STOP, stopId ? token : null, active);
        }
        if (seq.numOutputTokens() >= seq.maxTokens()) {
            return endFlushing(FinishReason.LENGTH, null, active);
        }
        return null;
    }

    private FinishReason endFlushing(FinishReason reason, Object why, boolean active) {
        StopStringMatcher.Result r = stops.append(decoder.flush(), active);
        newText.append(r.text());
        if (r.stop() != null) {
            return end(FinishReason.STOP, r.stop());
        }
        newText.append(stops.releaseAll());
        return end(reason, why);
    }

    private FinishReason end(FinishReason reason, Object why) {
        finish = reason;
        stopReason = why;
        return reason;
    }

    void abort() {
        if (finish == null) {
            finish = FinishReason.ABORT;
            dirty = true;
        }
    }

    /** The delta since the last call, or null when nothing changed. */
    CompletionDelta drain() {
        if (!dirty && (finish == null || finishPublished)) {
            return null;
        }
        int[] ids = newTokens.stream().mapToInt(Integer::intValue).toArray();
        CompletionDelta d = new CompletionDelta(index, ids, newText.toString(),
                wantLogprobs ? List.copyOf(newLogprobs) : null, finish, stopReason);
        newTokens.clear();
        newText.setLength(0);
        newLogprobs.clear();
        dirty = false;
        finishPublished |= finish != null;
        return d;
    }
}
