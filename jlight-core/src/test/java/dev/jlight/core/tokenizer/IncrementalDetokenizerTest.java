package dev.jlight.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jlight.core.engine.TextDecoderFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/** Streaming detokenization on the real tokenizers: deltas add up to decode(all), whole characters only. */
class IncrementalDetokenizerTest {

    static final List<String> NAMES = TokenizerAssets.NAMES;

    static final String[] CORPUS = {
        "Hello world, this is a test of streaming detokenization.",
        "  two leading spaces and\ttabs\n\nnew paragraphs   end  ",
        "日本語のテキストと中文混合，한국어도 있어요。",
        "emoji 🤖🚀 family 👨\u200d👩\u200d👧 flags 🇯🇵 skin 👍🏽 rare 𠜎𠜱",
        "cafe\u0301 Z\u0351\u0364a\u0308l\u0310g\u0335o ñ",
        "def f(x):\n    return {'a': [1, 2, 3]}  # code\n",
    };

    /** Feeds ids one by one; returns the deltas, flush last. */
    private static List<String> stream(IncrementalDetokenizer d, int[] ids) {
        List<String> deltas = new ArrayList<>();
        for (int id : ids) {
            deltas.add(d.next(id));
        }
        deltas.add(d.flush());
        return deltas;
    }

    private static void assertWellFormed(List<String> deltas, String label) {
        for (int i = 0; i < deltas.size(); i++) {
            String s = deltas.get(i);
            for (int j = 0; j < s.length(); j++) {
                char c = s.charAt(j);
                if (Character.isHighSurrogate(c)) {
                    assertTrue(j + 1 < s.length() && Character.isLowSurrogate(s.charAt(j + 1)),
                            label + ": delta " + i + " ends inside a surrogate pair");
                    j++;
                } else {
                    assertFalse(Character.isLowSurrogate(c), label + ": lone low surrogate in delta " + i);
                }
            }
            if (i < deltas.size() - 1 && !s.isEmpty()) {
                assertTrue(s.charAt(s.length() - 1) != '\uFFFD', label + ": delta " + i + " ends in U+FFFD");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @FieldSource("NAMES")
    void deltasOfRealTextAddUpToDecode(String name) {
        Tokenizer tok = TokenizerAssets.require(name);
        for (boolean skip : new boolean[] {false, true}) {
            for (String text : CORPUS) {
                int[] ids = tok.encode(text, true);
                List<String> deltas = stream(new IncrementalDetokenizer(tok, skip), ids);
                String label = name + " skip=" + skip + " " + GoldenReplay.quote(text);
                assertEquals(tok.decode(ids, skip), String.join("", deltas), label);
                assertWellFormed(deltas, label);
            }
        }
    }

    /** Random ids: uniform over the vocabulary, byte tokens (characters split across tokens), specials. */
    @ParameterizedTest(name = "{0}")
    @FieldSource("NAMES")
    void deltasOfRandomIdsAddUpToDecode(String name) {
        Tokenizer tok = TokenizerAssets.require(name);
        Random rnd = new Random(name.hashCode());
        int[] pieces = pieceIds(tok);
        int[] specials = java.util.stream.IntStream.range(0, tok.vocabSize()).filter(tok::isSpecial).toArray();
        for (int round = 0; round < 24; round++) {
            int n = 8 + rnd.nextInt(40);
            int[] ids = new int[n];
            for (int i = 0; i < n; i++) {
                int r = rnd.nextInt(10);
                if (r < 4) {
                    ids[i] = rnd.nextInt(tok.vocabSize());
                } else if (r < 9 || specials.length == 0) {
                    ids[i] = pieces[rnd.nextInt(pieces.length)];
                } else {
                    ids[i] = specials[rnd.nextInt(specials.length)];
                }
            }
            boolean skip = round % 2 == 1;
            List<String> deltas = stream(new IncrementalDetokenizer(tok, skip), ids);
            String label = name + " skip=" + skip + " ids " + Arrays.toString(ids);
            assertEquals(tok.decode(ids, skip), String.join("", deltas), label);
            assertWellFormed(deltas, label);
        }
    }

    /** Ids of text with multibyte characters, so random picks often split characters across tokens. */
    private static int[] pieceIds(Tokenizer tok) {
        StringBuilder sb = new StringBuilder();
        for (String s : CORPUS) {
            sb.append(s).append(' ');
        }
        return tok.encode(sb.toString(), false);
    }

    @ParameterizedTest(name = "{0}")
    @FieldSource("NAMES")
    void promptSeedKeepsTheFirstLeadingSpace(String name) {
        Tokenizer tok = TokenizerAssets.require(name);
        int[] prompt = tok.encode("Question: what is the answer?", true);
        int[] gen = tok.encode(" The answer is 42 日本 🤖.", false);
        if (tok.isLlamaSentencePiece()) {
            gen = tok.encode("The answer is 42 日本 🤖.", false); // "▁The ..." : SentencePiece adds the space
        }
        TextDecoderFactory engineFactory = tok::newDecoder; // how the engine is given the detokenizer
        IncrementalDetokenizer d = (IncrementalDetokenizer) engineFactory.create(prompt, true);
        List<String> deltas = stream(d, gen);
        int[] all = concat(prompt, gen);
        String full = tok.decode(all, true);
        String before = tok.decode(prompt, true);
        assertTrue(full.startsWith(before), name);
        assertEquals(full.substring(before.length()), String.join("", deltas), name);
        assertTrue(String.join("", deltas).startsWith(" The"), name + ": " + deltas);
        assertEquals(String.join("", deltas), d.text());
        assertEquals(gen.length, d.generatedTokens());
    }

    @Test
    void llama2WithoutSeedDropsTheFirstSpaceAsDecodeDoes() {
        Tokenizer tok = TokenizerAssets.require("llama2");
        int[] gen = tok.encode("Hello world", false); // [▁Hello, ▁world]
        List<String> deltas = stream(new IncrementalDetokenizer(tok, true), gen);
        assertEquals(List.of("Hello", " world", ""), deltas);
    }

    @Test
    void emojiSplitAcrossByteTokensIsEmittedWhole() {
        Tokenizer tok = TokenizerAssets.require("llama3");
        int[] ids = tok.encode("a🤖b", false);
        assertTrue(ids.length >= 4, "🤖 takes several byte-level tokens: " + Arrays.toString(ids));
        List<String> deltas = stream(new IncrementalDetokenizer(tok, false), ids);
        assertEquals("a🤖b", String.join("", deltas));
        assertTrue(deltas.stream().anyMatch(s -> s.contains("🤖")), "🤖 comes out in one delta: " + deltas);
        assertTrue(deltas.stream().noneMatch(s -> s.contains("\uFFFD")), deltas.toString());
    }

    @Test
    void llama2ByteFallbackCharacterIsEmittedWhole() {
        Tokenizer tok = TokenizerAssets.require("llama2");
        int[] ids = tok.encode("x𠜎y", false); // 𠜎 is not in the vocabulary: four <0x..> tokens
        List<String> deltas = stream(new IncrementalDetokenizer(tok, false), ids);
        assertEquals("x𠜎y", String.join("", deltas));
        assertTrue(deltas.stream().anyMatch(s -> s.contains("𠜎")), deltas.toString());
        assertTrue(deltas.stream().noneMatch(s -> s.contains("\uFFFD")), deltas.toString());
    }

    @Test
    void specialTokensAreSkippedOrKept() {
        Tokenizer tok = TokenizerAssets.require("llama3");
        int[] ids = tok.encode("<|start_header_id|>assistant<|end_header_id|>\n\nHi<|eot_id|>", false);
        assertEquals("assistant\n\nHi", String.join("", stream(new IncrementalDetokenizer(tok, true), ids)));
        assertEquals("<|start_header_id|>assistant<|end_header_id|>\n\nHi<|eot_id|>",
                String.join("", stream(new IncrementalDetokenizer(tok, false), ids)));
    }

    @Test
    void trailingIncompleteBytesComeOutOnFlush() {
        Tokenizer tok = TokenizerAssets.require("llama3");
        int[] emoji = tok.encode("🤖", false);
        int[] ids = concat(tok.encode("ok", false), Arrays.copyOf(emoji, emoji.length - 1));
        IncrementalDetokenizer d = new IncrementalDetokenizer(tok, false);
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            sb.append(d.next(id));
        }
        assertEquals("ok", sb.toString(), "the incomplete emoji is held back");
        String rest = d.flush();
        assertTrue(rest.startsWith("\uFFFD"), GoldenReplay.quote(rest));
        assertEquals(tok.decode(ids, false), sb + rest);
        assertEquals("", d.flush());
    }

    @Test
    void longGenerationsStayConsistentAcrossBufferCompaction() {
        Tokenizer tok = TokenizerAssets.require("qwen3");
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 120; i++) {
            text.append(CORPUS[i % CORPUS.length]).append(' ');
        }
        int[] ids = tok.encode(text.toString(), false);
        assertTrue(ids.length > 1200, "long enough to compact several times: " + ids.length);
        List<String> deltas = stream(new IncrementalDetokenizer(tok, true), ids);
        assertEquals(tok.decode(ids, true), String.join("", deltas));
    }

    private static int[] concat(int[] a, int[] b) {
        int[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
