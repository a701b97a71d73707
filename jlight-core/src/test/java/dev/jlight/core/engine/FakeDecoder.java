package dev.jlight.core.engine;

import java.util.function.IntFunction;

/** A text decoder where each token id stands for a fixed string. */
final class FakeDecoder implements TextDecoder {
    private final IntFunction<String> text;

    FakeDecoder(IntFunction<String> text) {
        this.text = text;
    }

    /** Token i is the letter 'a' + i % 26. */
    static TextDecoderFactory letters() {
        return (prompt, skip) -> new FakeDecoder(i -> String.valueOf((char) ('a' + i % 26)));
    }

    static TextDecoderFactory of(IntFunction<String> text) {
        return (prompt, skip) -> new FakeDecoder(text);
    }

    @Override
    public String next(int tokenId) {
        return text.apply(tokenId);
    }
}
