package dev.jlight.core.tokenizer;

import dev.jlight.core.engine.TextDecoder;

import java.util.Arrays;

/**
 * Streams the text of generated tokens, one token at a time, as vLLM's {@code
 * detokenize_incrementally} does: each new token is decoded together with a short window of the
 * tokens before it, and the text of the window without the new tokens is cut off the front.
 *
 * <pre>
 *   prefix_text = decode(ids[prefixOffset, readOffset))
 *   new_text    = decode(ids[prefixOffset, end))
 *   delta       = new_text minus prefix_text   (then prefixOffset = readOffset, readOffset = end)
 * </pre>
 *
 * Decoding with a window keeps SentencePiece's spaces right (a lone {@code "▁Hello"} decodes to
 * {@code "Hello"}: the decoder strips the first space of a text) and lets byte tokens of one
 * character arrive in separate steps: while the window's text ends in U+FFFD (an incomplete UTF-8
 * sequence) nothing is emitted and the offsets stay, so a character is emitted whole once its last
 * byte arrives. With a ByteFallback decoder (Llama-2, Mistral) a run of byte tokens ({@code <0x0A>})
 * is held until a token that is not a byte ends it, because HF decodes the run as a whole (an invalid
 * byte turns every byte of its run into U+FFFD); so a newline that is a byte token comes out with the
 * next token.
 *
 * <p>Guarantee (tested on random ids of the real tokenizers): the deltas of {@link #next} followed by
 * {@link #flush()} concatenate to {@code tokenizer.decode(generated, skipSpecialTokens)}; with a
 * prompt seed, to {@code decode(seed + generated)} minus {@code decode(seed)} where the latter is a
 * prefix of the former. {@code flush()} emits what is still held back at the end of generation
 * (replacement characters of bytes that never formed a character); vLLM drops those.
 *
 * <p>With {@code skipSpecialTokens}, special added tokens are left out of the window entirely, which
 * is what HF's decode does with them. Not thread-safe: one per sequence.
 */
public final class IncrementalDetokenizer implements TextDecoder {

    /** vLLM's INITIAL_INCREMENTAL_DETOKENIZATION_OFFSET: prompt tokens that seed the window. */
    public static final int PROMPT_WINDOW = 5;

    private static final char REPLACEMENT = '\uFFFD';

    private final Tokenizer tokenizer;
    private final boolean skipSpecialTokens;
    private int[] ids = new int[64];
    private int size;
    private int prefixOffset;
    private int readOffset;
    private final StringBuilder text = new StringBuilder();
    private int generated;

    /** A detokenizer without prompt context (the first token's leading space is dropped, as in decode). */
    public IncrementalDetokenizer(Tokenizer tokenizer, boolean skipSpecialTokens) {
        this(tokenizer, new int[0], skipSpecialTokens);
    }

    /**
     * A detokenizer whose window starts with the last {@value #PROMPT_WINDOW} ids of the prompt
     * (special ones left out when skipping them), so that the first generated token is decoded in
     * context: {@code "▁Hello"} after a prompt gives {@code " Hello"}.
     */
    public IncrementalDetokenizer(Tokenizer tokenizer, int[] promptIds, boolean skipSpecialTokens) {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
        int[] seed = new int[PROMPT_WINDOW];
        int n = 0;
        for (int i = promptIds.length - 1; i >= 0 && n < PROMPT_WINDOW; i--) {
            if (!(skipSpecialTokens && tokenizer.isSpecial(promptIds[i]))) {
                seed[PROMPT_WINDOW - 1 - n++] = promptIds[i];
            }
        }
        for (int i = PROMPT_WINDOW - n; i < PROMPT_WINDOW; i++) {
            push(seed[i]);
        }
        prefixOffset = 0;
        readOffset = size;
    }

    /** Adds one generated token; returns the text it completes (often "", never null). */
    @Override
    public String next(int tokenId) {
        generated++;
        if (skipSpecialTokens && tokenizer.isSpecial(tokenId)) {
            return "";
        }
        push(tokenId);
        if (tokenizer.isBytePiece(tokenId)) {
            return ""; // a ByteFallback run decodes as a whole: wait until it ends
        }
        String prefixText = tokenizer.decode(ids, prefixOffset, readOffset, skipSpecialTokens);
        String newText = tokenizer.decode(ids, prefixOffset, size, skipSpecialTokens);
        if (newText.length() <= prefixText.length() || newText.charAt(newText.length() - 1) == REPLACEMENT) {
            return ""; // nothing yet, or a character still incomplete: wait for more tokens
        }
        String delta = suffixAfter(prefixText, newText);
        prefixOffset = readOffset;
        readOffset = size;
        compact();
        text.append(delta);
        return delta;
    }

    /**
     * Emits whatever is held back (the replacement characters of an incomplete trailing byte
     * sequence, or text still waiting on a window); call once when generation ends.
     */
    @Override
    public String flush() {
        if (readOffset == size) {
            return "";
        }
        String prefixText = tokenizer.decode(ids, prefixOffset, readOffset, skipSpecialTokens);
        String newText = tokenizer.decode(ids, prefixOffset, size, skipSpecialTokens);
        String delta = newText.length() > prefixText.length() ? suffixAfter(prefixText, newText) : "";
        prefixOffset = readOffset;
        readOffset = size;
        text.append(delta);
        return delta;
    }

    /** All text emitted so far (the concatenation of the deltas). */
    public String text() {
        return text.toString();
    }

    /** How many tokens {@link #next} has been given. */
    public int generatedTokens() {
        return generated;
    }

    /**
     * newText minus prefixText. They share the window start, so prefixText is normally a prefix of
     * newText; where it is not (a seed ending inside a character), the common prefix is cut.
     */
    private static String suffixAfter(String prefixText, String newText) {
        if (newText.startsWith(prefixText)) {
            return newText.substring(prefixText.length());
        }
        int n = Math.min(prefixText.length(), newText.length());
        int i = 0;
        while (i < n && prefixText.charAt(i) == newText.charAt(i)) {
            i++;
        }
        if (i > 0 && Character.isHighSurrogate(newText.charAt(i - 1))) {
            i--;
        }
        return newText.substring(i);
    }

    private void push(int id) {
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, ids.length * 2);
        }
        ids[size++] = id;
    }

    /** Drops ids before prefixOffset so the buffer stays small over long generations. */
    private void compact() {
        if (prefixOffset >= 256) {
            System.arraycopy(ids, prefixOffset, ids, 0, size - prefixOffset);
            size -= prefixOffset;
            readOffset -= prefixOffset;
            prefixOffset = 0;
        }
    }
}
