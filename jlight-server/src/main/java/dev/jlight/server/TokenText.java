package dev.jlight.server;

import dev.jlight.core.tokenizer.Tokenizer;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The text of single tokens as logprobs show them: {@code tokenizer.decode([id])} (a partial
 * UTF-8 character reads as U+FFFD), or {@code "token_id:<id>"} when the request asks for
 * {@code return_tokens_as_token_ids}. Cached: the vocabulary is small next to the traffic.
 */
final class TokenText {
    private final Tokenizer tokenizer;
    private final ConcurrentHashMap<Integer, String> cache = new ConcurrentHashMap<>();

    TokenText(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    String of(int id, boolean asTokenId) {
        if (asTokenId) {
            return "token_id:" + id;
        }
        return cache.computeIfAbsent(id, i -> tokenizer.decode(new int[] {i}, false));
    }
}
