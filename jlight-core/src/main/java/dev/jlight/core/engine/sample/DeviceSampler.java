package dev.jlight.core.engine.sample;

import dev.jlight.core.engine.SamplingParams;
import dev.jlight.core.model.DeviceSampling;
import java.util.List;
import java.util.Set;

/**
 * Decides when a step's tokens may be picked on the backend ({@link DeviceSampling}) instead of
 * by {@link Sampler} on downloaded logits, and builds the per-row spec. A row is eligible when
 * nothing but temperature, top_k, top_p and min_p shapes its pick: no logprobs (they need the
 * whole row on the host), no logit bias, no penalties, no stop tokens masked by min_tokens.
 */
public final class DeviceSampler {
    private DeviceSampler() {
    }

    /** Whether {@code ctx}'s next token can be sampled on the device, with the engine's EOS ids. */
    public static boolean eligible(SamplingContext ctx, Set<Integer> eos) {
        SamplingParams p = ctx.params();
        boolean minTokensMasks = ctx.numOutputTokens() < p.minTokens()
                && (!p.stopTokenIds().isEmpty() || (!p.ignoreEos() && !eos.isEmpty()));
        return p.logprobs() == null && p.logitBias().isEmpty() && p.repetitionPenalty() == 1.0
                && p.frequencyPenalty() == 0.0 && p.presencePenalty() == 0.0 && !minTokensMasks;
    }

    /**
     * The spec of one step's rows, in order. Draws one uniform from each random row's own RNG
     * (greedy rows draw none), exactly as {@link Sampler#sample} would, so a sequence's tokens do
     * not depend on which path sampled them.
     */
    public static DeviceSampling spec(List<? extends SamplingContext> rows) {
        int r = rows.size();
        double[] temperature = new double[r];
        int[] topK = new int[r];
        double[] topP = new double[r];
        double[] minP = new double[r];
        double[] uniform = new double[r];
        for (int i = 0; i < r; i++) {
            SamplingContext ctx = rows.get(i);
            SamplingParams p = ctx.params();
            topP[i] = p.topP();
            if (p.isGreedy()) {
                continue;              // temperature 0: argmax
            }
            temperature[i] = p.temperature();
            topK[i] = p.topK();
            minP[i] = p.minP();
            uniform[i] = ctx.rng().nextDouble();
        }
        return new DeviceSampling(temperature, topK, topP, minP, uniform);
    }
}
