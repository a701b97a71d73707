package dev.jlight.core.engine.sample;

import dev.jlight.core.engine.SamplingParams;
import java.util.random.RandomGenerator;

/** What the sampler reads about one sequence: its parameters, its tokens so far and its own RNG. */
public interface SamplingContext {
    SamplingParams params();

    int numPromptTokens();

    /** Prompt plus generated tokens. */
    int numTokens();

    int tokenAt(int index);

    default int numOutputTokens() {
        return numTokens() - numPromptTokens();
    }

    /** The sequence's own generator: its draws never depend on other sequences in the batch. */
    RandomGenerator rng();
}
