package dev.jlight.core.engine;

/**
 * Incremental detokenizer of one sequence, implemented by the tokenizer module: fed the
 * generated tokens one at a time, it returns the text each one completes. It may return "" and
 * hold bytes back (half a UTF-8 character, a SentencePiece space that depends on the next
 * token), and returns them when later tokens complete them or at {@link #flush()}.
 */
public interface TextDecoder {
    /** The text that {@code tokenId} adds to the output (possibly empty). */
    String next(int tokenId);

    /** Text still held when the sequence ends (e.g. an incomplete character as U+FFFD). */
    default String flush() {
        return "";
    }
}
