package dev.jlight.core.engine.sample;

import dev.jlight.core.engine.SamplingParams;
import java.util.Map;
import java.util.Set;

/**
 * The logit changes that also apply to greedy decoding, in vLLM's order: logit bias, min_tokens
 * (stop ids masked), then repetition, frequency and presence penalties. One row, in place.
 */
final class LogitsProcessors {
    private final int vocab;
    private final int[] counts;      // occurrences in the output, per token (zeroed after use)
    private final int[] seenStamp;   // == stamp when the token occurs in prompt or output
    private int stamp;

    LogitsProcessors(int vocab) {
        this.vocab = vocab;
        this.counts = new int[vocab];
        this.seenStamp = new int[vocab];
    }

    void apply(float[] x, SamplingContext ctx, Set<Integer> eos) {
        SamplingParams p = ctx.params();
        for (Map.Entry<Integer, Double> e : p.logitBias().entrySet()) {
            if (e.getKey() < vocab) {
                x[e.getKey()] += e.getValue().floatValue();
            }
        }
        if (ctx.numOutputTokens() < p.minTokens()) {
            mask(x, p.stopTokenIds());
            if (!p.ignoreEos()) {
                mask(x, eos);
            }
        }
        applyPenalties(x, ctx, p);
    }

    private void mask(float[] x, Set<Integer> ids) {
        for (int id : ids) {
            if (id < vocab) {
                x[id] = Float.NEGATIVE_INFINITY;
            }
        }
    }

    private void applyPenalties(float[] x, SamplingContext ctx, SamplingParams p) {
        float rep = (float) p.repetitionPenalty();
        if (rep != 1f) {
            if (++stamp == 0) {
                java.util.Arrays.fill(seenStamp, 0);
                stamp = 1;
            }
            for (int i = 0; i < ctx.numTokens(); i++) {
                int t = ctx.tokenAt(i);
                if (t < vocab && seenStamp[t] != stamp) {
                    seenStamp[t] = stamp;
                    x[t] = x[t] > 0 ? x[t] / rep : x[t] * rep;
                }
            }
        }
        float freq = (float) p.frequencyPenalty();
        float pres = (float) p.presencePenalty();
        if (freq == 0f && pres == 0f) {
            return;
        }
        int from = ctx.numPromptTokens();
        for (int i = from; i < ctx.numTokens(); i++) {
            int t = ctx.tokenAt(i);
            if (t < vocab) {
                counts[t]++;
            }
        }
        for (int i = from; i < ctx.numTokens(); i++) {
            int t = ctx.tokenAt(i);
            if (t < vocab && counts[t] > 0) {
                x[t] -= freq * counts[t] + pres;
                counts[t] = 0;
            }
        }
    }
}
