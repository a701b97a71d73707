package dev.jlight.core.engine;

import java.util.ArrayList;
import java.util.List;

/** A finished request folded from its outputs: per choice, all tokens, text and logprobs. */
public record CompletionResult(String requestId, List<Choice> choices, int promptTokens, int generatedTokens,
                               RequestTiming timing) {

    /** One choice in full. {@code logprobs} is null when the request asked for none. */
    public record Choice(int index, int[] tokenIds, String text, List<TokenLogprobs> logprobs,
                         FinishReason finishReason, Object stopReason) {
    }

    /** Folds a request's outputs, in order; the last must be finished. */
    public static CompletionResult fold(List<RequestOutput> outputs) {
        RequestOutput last = outputs.getLast();
        if (!last.finished()) {
            throw new IllegalArgumentException("request " + last.requestId() + " has not finished");
        }
        List<Choice> choices = new ArrayList<>();
        for (int i = 0; ; i++) {
            List<Integer> ids = new ArrayList<>();
            StringBuilder text = new StringBuilder();
            List<TokenLogprobs> lps = null;
            CompletionDelta end = null;
            for (RequestOutput o : outputs) {
                for (CompletionDelta d : o.choices()) {
                    if (d.index() == i) {
                        for (int t : d.tokenIds()) {
                            ids.add(t);
                        }
                        text.append(d.text());
                        if (d.logprobs() != null) {
                            lps = lps == null ? new ArrayList<>() : lps;
                            lps.addAll(d.logprobs());
                        }
                        end = d;
                    }
                }
            }
            if (end == null) {
                break;
            }
            choices.add(new Choice(i, ids.stream().mapToInt(Integer::intValue).toArray(), text.toString(),
                    lps == null ? null : List.copyOf(lps), end.finishReason(), end.stopReason()));
        }
        return new CompletionResult(last.requestId(), List.copyOf(choices), last.promptTokens(), last.generatedTokens(),
                last.timing());
    }
}
