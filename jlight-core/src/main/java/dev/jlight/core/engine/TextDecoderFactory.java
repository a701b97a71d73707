package dev.jlight.core.engine;

/** Makes one {@link TextDecoder} per generated sequence; the prompt is context for the first tokens. */
@FunctionalInterface
public interface TextDecoderFactory {
    TextDecoder create(int[] promptTokenIds, boolean skipSpecialTokens);
}
