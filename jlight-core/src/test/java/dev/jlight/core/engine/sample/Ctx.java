package dev.jlight.core.engine.sample;

import dev.jlight.core.engine.SamplingParams;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/** A fixed sampling context: prompt and output tokens, parameters, an RNG. */
record Ctx(SamplingParams params, int[] prompt, int[] output, RandomGenerator rng) implements SamplingContext {
    static Ctx of(SamplingParams p) {
        return new Ctx(p, new int[] {0}, new int[0], new SplittableRandom(p.seed() == null ? 0 : p.seed()));
    }

    Ctx withTokens(int[] prompt, int[] output) {
        return new Ctx(params, prompt, output, rng);
    }

    @Override
    public int numPromptTokens() {
        return prompt.length;
    }

    @Override
    public int numTokens() {
        return prompt.length + output.length;
    }

    @Override
    public int tokenAt(int i) {
        return i < prompt.length ? prompt[i] : output[i - prompt.length];
    }
}
