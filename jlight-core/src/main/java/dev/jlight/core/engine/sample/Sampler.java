package dev.jlight.core.engine.sample;

import dev.jlight.core.engine.SamplingParams;
import dev.jlight.core.engine.TokenLogprobs;
import dev.jlight.core.model.DeviceSampling;
import java.util.Set;

/**
 * Picks the next token of each sampling sequence from its row of logits (vLLM v1's sampler
 * order): logprobs of the raw distribution if asked; logit bias; min_tokens; repetition,
 * frequency and presence penalties; then greedy argmax (temperature 0, ties to the lowest id) or
 * temperature, min_p, top_k, top_p and a draw from the sequence's own RNG, so a seeded sequence
 * gives the same tokens whatever else is in the batch. Engine thread only (scratch buffers).
 */
public final class Sampler {
    private final int vocab;
    private final Set<Integer> eos;
    private final float[] x;
    private final double[] p;
    private final LogitsProcessors processors;
    private final ProbabilityFilters filters;

    public Sampler(int vocabSize, Set<Integer> eosTokenIds) {
        this.vocab = vocabSize;
        this.eos = Set.copyOf(eosTokenIds);
        this.x = new float[vocabSize];
        this.p = new double[vocabSize];
        this.processors = new LogitsProcessors(vocabSize);
        this.filters = new ProbabilityFilters(vocabSize);
    }

    /** Samples from {@code logits[offset, offset + vocab)}. */
    public SampledToken sample(float[] logits, int offset, SamplingContext ctx) {
        SamplingParams params = ctx.params();
        System.arraycopy(logits, offset, x, 0, vocab);
        processors.apply(x, ctx, eos);
        // one draw per random row, taken before the filters: the engine draws the same number
        // for a row sampled on the device (DeviceSampler), so both paths consume the RNG alike
        int token = params.isGreedy() ? argmax(x, vocab)
                : draw(params.temperature(), params.topK(), params.topP(), params.minP(), ctx.rng().nextDouble());
        TokenLogprobs lp = params.logprobs() == null ? null
                : RawLogprobs.of(logits, offset, vocab, token, params.logprobs());
        return new SampledToken(token, lp);
    }

    /**
     * The token a backend's sample op must pick for row {@code row} of {@code spec} from
     * {@code logits[offset, offset + vocab)}: the host twin of {@link DeviceSampling}, the same
     * code as {@link #sample} after the logit processors (which device sampling never needs).
     */
    public int sample(float[] logits, int offset, DeviceSampling spec, int row) {
        System.arraycopy(logits, offset, x, 0, vocab);
        if (spec.isGreedy(row)) {
            return argmax(x, vocab);
        }
        return draw(spec.temperature()[row], spec.topK()[row], spec.topP()[row], spec.minP()[row],
                spec.uniform()[row]);
    }

    /** Temperature, min_p, top_k, top_p over {@code x}, then the token where uniform * kept mass falls. */
    private int draw(double temperature, int topK, double topP, double minP, double uniform) {
        double inv = 1.0 / temperature;
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, x[i] * inv);
        }
        if (max == Double.NEGATIVE_INFINITY || Double.isNaN(max)) {
            return argmax(x, vocab);
        }
        for (int i = 0; i < vocab; i++) {
            p[i] = Math.exp(x[i] * inv - max);
        }
        filters.minP(p, vocab, minP);
        filters.topK(p, vocab, topK);
        filters.topP(p, vocab, topP);
        double total = 0;
        int last = -1;
        for (int i = 0; i < vocab; i++) {
            if (p[i] > 0) {
                total += p[i];
                last = i;
            }
        }
        double u = uniform * total;
        double cum = 0;
        for (int i = 0; i < vocab; i++) {
            cum += p[i];
            if (p[i] > 0 && u < cum) {
                return i;
            }
        }
        return last;
    }

    /** Index of the largest value, lowest index on ties (NaN never wins). */
    static int argmax(float[] v, int n) {
        int best = 0;
        float bestV = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            if (v[i] > bestV) {
                bestV = v[i];
                best = i;
            }
        }
        return best;
    }
}
