package dev.jlight.core.engine;

import java.util.ArrayList;
import java.util.List;

/** Collects a request's outputs and folds them per choice. */
final class CollectingSink implements OutputSink {
    final List<RequestOutput> outputs = new ArrayList<>();
    Throwable error;

    @Override
    public void accept(RequestOutput output) {
        if (finished()) {
            throw new IllegalStateException("output after the last one: " + output);
        }
        outputs.add(output);
    }

    @Override
    public void fail(Throwable e) {
        error = e;
    }

    boolean finished() {
        return !outputs.isEmpty() && outputs.getLast().finished();
    }

    /** All token ids of one choice, in order. */
    List<Integer> tokens(int choice) {
        List<Integer> out = new ArrayList<>();
        for (RequestOutput o : outputs) {
            for (CompletionDelta d : o.choices()) {
                if (d.index() == choice) {
                    for (int t : d.tokenIds()) {
                        out.add(t);
                    }
                }
            }
        }
        return out;
    }

    String text(int choice) {
        StringBuilder sb = new StringBuilder();
        for (RequestOutput o : outputs) {
            for (CompletionDelta d : o.choices()) {
                if (d.index() == choice) {
                    sb.append(d.text());
                }
            }
        }
        return sb.toString();
    }

    CompletionDelta last(int choice) {
        CompletionDelta last = null;
        for (RequestOutput o : outputs) {
            for (CompletionDelta d : o.choices()) {
                if (d.index() == choice) {
                    last = d;
                }
            }
        }
        return last;
    }

    FinishReason finishReason(int choice) {
        CompletionDelta d = last(choice);
        return d == null ? null : d.finishReason();
    }
}
