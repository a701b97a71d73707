package dev.jlight.core.engine.sample;

import dev.jlight.core.engine.TokenLogprobs;

/** The sampler's pick for one sequence, with its logprobs when the request asked for them (else null). */
public record SampledToken(int tokenId, TokenLogprobs logprobs) {
}
