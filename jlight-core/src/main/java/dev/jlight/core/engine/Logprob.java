package dev.jlight.core.engine;

/** A token and its log-probability. */
public record Logprob(int tokenId, float logprob) {
}
