package dev.jlight.server.cli;

import dev.jlight.core.engine.SamplingParams;
import picocli.CommandLine.Option;

/** Sampling flags of the interactive commands. */
public final class SamplingOptions {
    @Option(names = "--max-tokens", defaultValue = "128", description = "Most tokens to generate. Default: ${DEFAULT-VALUE}")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0.8", description = "0 = greedy. Default: ${DEFAULT-VALUE}")
    double temperature;

    @Option(names = "--top-p", defaultValue = "0.95", description = "Nucleus sampling mass. Default: ${DEFAULT-VALUE}")
    double topP;

    @Option(names = "--top-k", defaultValue = "0", description = "Keep the k most likely tokens (0 = off).")
    int topK;

    @Option(names = "--min-p", defaultValue = "0", description = "Drop tokens below min-p × the top probability.")
    double minP;

    @Option(names = "--repetition-penalty", defaultValue = "1.0")
    double repetitionPenalty;

    @Option(names = "--seed", description = "Random seed (reproducible sampling).")
    Long seed;

    SamplingParams params() {
        SamplingParams.Builder b = SamplingParams.builder().maxTokens(maxTokens).temperature(temperature).topP(topP)
                .topK(topK).minP(minP).repetitionPenalty(repetitionPenalty);
        if (seed != null) {
            b.seed(seed);
        }
        return b.build();
    }
}
