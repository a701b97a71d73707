package dev.jlight.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.jlight.core.JLightException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

class TokenizerTest {

    static final List<String> NAMES = TokenizerAssets.NAMES;
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    static final List<String> ROUND_TRIP = List.of(
            "Hello world",
            "日本語のテキストと中文，한국어",
            "🤖🚀 👨\u200d👩\u200d👧\u200d👦 🇯🇵 👍🏽 𠜎",
            "cafe\u0301 Z\u0351\u0364a\u0308l\u0310g\u0335o",
            "a  b   c\t\td\n\n\ne\r\n",
            "   padded   ",
            "def f(x):\n    return [i ** 2 for i in range(x)]  # squares\n",
            "if (a && b) { return *p->q; } // C\n#include <stdio.h>",
            "\u00a0\u2003\u3000 unusual spaces",
            "mixed: Ελληνικά, русский, العربية, हिन्दी");

    // ---- real tokenizers ----------------------------------------------------------------------

    /** decode(encode(x)) == x (NFC for Qwen, whose normalizer composes; SentencePiece Llama drops one leading space). */
    @ParameterizedTest(name = "{0}")
    @FieldSource("NAMES")
    void roundTrips(String name) {
        Tokenizer tok = TokenizerAssets.require(name);
        for (String text : ROUND_TRIP) {
            String expected = name.equals("qwen3") ? Normalizer.normalize(text, Normalizer.Form.NFC) : text;
            if (tok.isLlamaSentencePiece() && expected.startsWith(" ")) {
                expected = expected.substring(1); // the decoder's Strip(1): " x" and "x" both encode to "▁x"
            }
            assertEquals(expected, tok.decode(tok.encode(text, false), false), name + " " + GoldenReplay.quote(text));
            assertEquals(expected, tok.decode(tok.encode(text, true), true), name + " with specials skipped");
        }
    }

    @Test
    void specialTokensInTextAreRecognisedAsHfDoes() {
        Tokenizer llama3 = TokenizerAssets.require("llama3");
        assertArrayEquals(new int[] {128000, 9906}, llama3.encode("<|begin_of_text|>Hello", false));
        assertArrayEquals(new int[] {9906, 128009}, llama3.encode("Hello<|eot_id|>", false));
        assertEquals("Hello", llama3.decode(new int[] {128000, 9906, 128009}, true));
        assertEquals("<|begin_of_text|>Hello<|eot_id|>", llama3.decode(new int[] {128000, 9906, 128009}, false));
        assertTrue(llama3.isSpecial(128000));
        assertEquals(OptionalInt.of(128009), llama3.tokenToId("<|eot_id|>"));
        assertEquals("<|eot_id|>", llama3.idToToken(128009));

        Tokenizer qwen = TokenizerAssets.require("qwen3");
        int[] ids = qwen.encode("<|im_start|>user\nhi<|im_end|>", false);
        assertEquals(151644, ids[0]);
        assertEquals(151645, ids[ids.length - 1]);
        // Qwen3's <think> is an added token that is not special: kept by skip_special_tokens
        int think = qwen.tokenToId("<think>").orElseThrow();
        assertFalse(qwen.isSpecial(think));
        assertEquals("<think>ok", qwen.decode(qwen.encode("<|im_start|><think>ok", false), true));

        Tokenizer llama2 = TokenizerAssets.require("llama2");
        assertArrayEquals(new int[] {1, 1, 15359}, llama2.encode("<s>Hi", true)); // as transformers: BOS + "<s>" + "▁Hi"
    }

    @Test
    void bosTemplateOfTheRealTokenizers() {
        // llama2 (LlamaTokenizer, add_bos_token true) and deepseek_v3 (LlamaTokenizerFast, add_bos_token true,
        // no template in its tokenizer.json) get BOS by the flags; llama3 and qwen3 by their tokenizer.json
        // post-processor, which has none in these copies.
        Map<String, Boolean> expected = Map.of("llama2", true, "llama3", false, "qwen3", false, "deepseek_v3", true);
        for (String name : NAMES) {
            if (!TokenizerAssets.present(name)) {
                continue;
            }
            Tokenizer tok = TokenizerAssets.require(name);
            SpecialTokens st = tok.specialTokens();
            assertEquals(expected.get(name), st.addBosToken(), name);
            assertFalse(st.addEosToken(), name);
            int[] with = tok.encode("Hi", true);
            int[] without = tok.encode("Hi", false);
            assertEquals(st.addBosToken() ? without.length + 1 : without.length, with.length, name);
            if (st.addBosToken()) {
                assertEquals(st.bosId(), with[0], name);
            }
        }
    }

    @Test
    void realSpecialTokensAndChatTemplates() {
        Tokenizer llama3 = TokenizerAssets.require("llama3");
        SpecialTokens s = llama3.specialTokens();
        assertEquals(128000, s.bosId());
        assertEquals(128001, s.eosId());
        assertEquals(Set.of(128001), s.eosIds());
        assertEquals(-1, s.padId());
        assertTrue(s.chatTemplate().contains("<|start_header_id|>"));

        Tokenizer qwen = TokenizerAssets.require("qwen3");
        SpecialTokens q = qwen.specialTokens();
        assertEquals(-1, q.bosId());
        assertNull(q.bosToken());
        assertEquals(151645, q.eosId());
        assertEquals(151643, q.padId());
        assertTrue(q.chatTemplate().contains("<|im_start|>"));
        assertEquals(q.chatTemplate(), qwen.chatTemplate());
        assertEquals(q.chatTemplate(), q.chatTemplate("tool_use"), "no such named template: the default");

        Tokenizer llama2 = TokenizerAssets.require("llama2");
        assertNull(llama2.chatTemplate());
        assertEquals(0, llama2.specialTokens().unkId());
    }

    /**
     * Llama-2 (SentencePiece, legacy): transformers 5 rebuilds it with a Metaspace pre-tokenizer; the
     * raw tokenizer.json would give "▁▁▁Leading" (259 = "▁▁" first) where transformers gives "▁▁Leading".
     */
    @Test
    void llama2LeadingSpacesMatchTransformers() {
        Tokenizer tok = TokenizerAssets.require("llama2");
        assertTrue(tok.isLlamaSentencePiece());
        assertArrayEquals(new int[] {28705, 10161, 288}, tok.encode("  Leading", false)); // ▁, ▁Lead, ing
        assertArrayEquals(new int[] {22557}, tok.encode(" Hello", false)); // same as "Hello": ▁Hello
        assertArrayEquals(new int[] {22557}, tok.encode("Hello", false));
        assertArrayEquals(new int[] {22557, 28705, 1, 842}, tok.encode("Hello <s>.", false)); // legacy: "▁." after <s>
        assertArrayEquals(new int[] {28705, 13, 13, 28744}, tok.encode("\n\nx", false)); // ▁ then byte tokens <0x0A>
        assertEquals(" Leading", tok.decode(new int[] {28705, 10161, 288}, false));
        assertEquals("Hello", tok.decode(new int[] {22557}, false));
        assertEquals("<s> Hello", tok.decode(new int[] {1, 22557}, false));
    }

    /** The same vocabulary under other tokenizer_config.json settings and model types (hf-reference-llama2-variants.json). */
    @Test
    void llama2SettingsVariantsMatchTransformers() throws IOException {
        assumeTrue(TokenizerAssets.present("llama2"), "real tokenizer 'llama2' absent");
        Path ref = TokenizerAssets.testSourceDir().resolve("hf-reference-llama2-variants.json");
        assumeTrue(Files.isRegularFile(ref), "no " + ref);
        for (JsonNode v : GoldenReplay.read(ref).get("variants")) {
            Path dir = Files.createDirectories(tmp.resolve(v.get("name").asText()));
            Path src = TokenizerAssets.folder("llama2");
            Files.copy(src.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
            ObjectNode tc = (ObjectNode) JSON.readTree(src.resolve("tokenizer_config.json").toFile());
            v.get("tokenizer_config_changes").properties().forEach(e -> {
                if (e.getValue().isNull()) {
                    tc.remove(e.getKey());
                } else {
                    tc.set(e.getKey(), e.getValue());
                }
            });
            JSON.writeValue(dir.resolve("tokenizer_config.json").toFile(), tc);
            JSON.writeValue(dir.resolve("config.json").toFile(), Map.of("model_type", v.get("model_type").asText()));
            try (Tokenizer tok = Tokenizer.load(dir)) {
                assertEquals(v.get("class").asText().equals("LlamaTokenizer"), tok.isLlamaSentencePiece(),
                        v.get("name").asText());
                GoldenReplay.replay(tok, v, "llama2 variant " + v.get("name").asText());
            }
        }
    }

    @Test
    void loneSurrogatesAreEncodedAsReplacementCharacters() {
        Tokenizer tok = TokenizerAssets.require("llama3");
        assertArrayEquals(tok.encode("a\uFFFDb", false), tok.encode("a\uD800b", false));
        assertArrayEquals(tok.encode("\uFFFD", false), tok.encode("\uDC00", false));
    }

    @Test
    void concurrentEncodeAndDecodeAgree() throws Exception {
        Tokenizer tok = TokenizerAssets.require("qwen3");
        List<int[]> expected = new ArrayList<>();
        for (String s : ROUND_TRIP) {
            expected.add(tok.encode(s, false));
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Boolean>> fs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                fs.add(pool.submit(() -> {
                    for (int r = 0; r < 25; r++) {
                        for (int i = 0; i < ROUND_TRIP.size(); i++) {
                            int[] ids = tok.encode(ROUND_TRIP.get(i), false);
                            if (!java.util.Arrays.equals(expected.get(i), ids)) {
                                return false;
                            }
                            tok.decode(ids, true);
                        }
                    }
                    return true;
                }));
            }
            for (Future<Boolean> f : fs) {
                assertTrue(f.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    // ---- synthetic folders ---------------------------------------------------------------------

    /** A tiny WordLevel tokenizer.json: "<s>"=0 "</s>"=1 "<unk>"=2 "hello"=3 "world"=4 "."=5 "<|eot|>"=6 "<pad>"=7. */
    static ObjectNode tinyTokenizerJson() {
        try {
            return (ObjectNode) JSON.readTree("""
                    {"version": "1.0", "truncation": null, "padding": null,
                     "added_tokens": [
                       {"id": 0, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
                       {"id": 1, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
                       {"id": 2, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
                     "normalizer": null,
                     "pre_tokenizer": {"type": "WhitespaceSplit"},
                     "post_processor": {"type": "TemplateProcessing",
                       "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                       "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                       "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]}}},
                     "decoder": null,
                     "model": {"type": "WordLevel",
                       "vocab": {"<s>": 0, "</s>": 1, "<unk>": 2, "hello": 3, "world": 4, ".": 5, "<|eot|>": 6, "<pad>": 7},
                       "unk_token": "<unk>"}}
                    """);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private Path folder(String name, JsonNode tokenizerJson, Map<String, ?> tokenizerConfig) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        JSON.writeValue(dir.resolve("tokenizer.json").toFile(), tokenizerJson);
        if (tokenizerConfig != null) {
            JSON.writeValue(dir.resolve("tokenizer_config.json").toFile(), tokenizerConfig);
        }
        return dir;
    }

    @Test
    void eosIdsAreTheUnionOfTokenizerAndGenerationConfig() throws IOException {
        Path dir = folder("eos", tinyTokenizerJson(), Map.of("bos_token", "<s>", "eos_token", Map.of("content", "</s>"),
                "pad_token", "<pad>"));
        JSON.writeValue(dir.resolve("generation_config.json").toFile(), Map.of("eos_token_id", List.of(6, 1),
                "bos_token_id", 0));
        JSON.writeValue(dir.resolve("config.json").toFile(), Map.of("eos_token_id", 5, "model_type", "tiny"));
        try (Tokenizer tok = Tokenizer.load(dir)) {
            SpecialTokens s = tok.specialTokens();
            assertEquals(0, s.bosId());
            assertEquals("<s>", s.bosToken());
            assertEquals(1, s.eosId());
            assertEquals("</s>", s.eosToken());
            assertEquals(List.of(1, 6), List.copyOf(s.eosIds()), "tokenizer eos first, then generation_config's");
            assertTrue(s.isEos(6));
            assertFalse(s.isEos(5), "config.json's eos is used only without generation_config.json");
            assertEquals(7, s.padId());
            assertTrue(tok.isSpecial(7), "a named pad token that is no added token becomes one, as in transformers");
            assertTrue(s.addBosToken());
            assertArrayEquals(new int[] {0, 3, 4}, tok.encode("hello world", true));
            assertArrayEquals(new int[] {3, 4}, tok.encode("hello world", false));
            assertArrayEquals(new int[] {3, 7, 4}, tok.encode("hello<pad>world", false));
        }
        Files.delete(dir.resolve("generation_config.json"));
        try (Tokenizer tok = Tokenizer.load(dir)) {
            assertEquals(List.of(1, 5), List.copyOf(tok.specialTokens().eosIds()), "config.json's eos_token_id");
        }
    }

    @Test
    void idsFromConfigWhenTheTokenizerNamesNone() throws IOException {
        Path dir = folder("ids", tinyTokenizerJson(), null);
        JSON.writeValue(dir.resolve("config.json").toFile(), Map.of("bos_token_id", 0, "eos_token_id", List.of(1, 6),
                "pad_token_id", 7));
        try (Tokenizer tok = Tokenizer.load(dir)) {
            SpecialTokens s = tok.specialTokens();
            assertEquals(0, s.bosId());
            assertNull(s.bosToken(), "the text stays what the tokenizer says (what chat templates see)");
            assertEquals(1, s.eosId());
            assertEquals(Set.of(1, 6), s.eosIds());
            assertEquals(7, s.padId());
            assertEquals(-1, s.unkId());
            assertNull(s.chatTemplate());
        }
    }

    @Test
    void postProcessorSequenceWithBosAndEos() throws IOException {
        ObjectNode tj = tinyTokenizerJson();
        tj.set("post_processor", JSON.readTree("""
                {"type": "Sequence", "processors": [
                  {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
                  {"type": "TemplateProcessing",
                   "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                              {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                   "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                   "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
                                      "</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}}}]}
                """));
        try (Tokenizer tok = Tokenizer.load(folder("seq", tj, Map.of("bos_token", "<s>", "eos_token", "</s>",
                "add_bos_token", false)))) {
            assertArrayEquals(new int[] {0, 3, 1}, tok.encode("hello", true));
            assertTrue(tok.specialTokens().addBosToken(), "add_bos_token is not used for non-Llama classes");
            assertTrue(tok.specialTokens().addEosToken());
        }
        tj.set("post_processor", JSON.readTree("{\"type\": \"BertProcessing\", \"sep\": [\"</s>\", 1], \"cls\": [\"<s>\", 0]}"));
        try (Tokenizer tok = Tokenizer.load(folder("bert", tj, Map.of()))) {
            assertArrayEquals(new int[] {0, 4, 1}, tok.encode("world", true));
        }
        tj.putNull("post_processor");
        try (Tokenizer tok = Tokenizer.load(folder("none", tj, Map.of("bos_token", "<s>")))) {
            assertArrayEquals(new int[] {4}, tok.encode("world", true));
            assertFalse(tok.specialTokens().addBosToken());
        }
    }

    @Test
    void llamaClassTemplateFollowsTheFlags() throws IOException {
        // transformers 4's LlamaTokenizerFast (and JLight): add_bos_token / add_eos_token over tokenizer.json's template
        Map<String, Object> tc = new java.util.HashMap<>(Map.of("tokenizer_class", "LlamaTokenizerFast",
                "bos_token", "<s>", "eos_token", "</s>"));
        try (Tokenizer tok = Tokenizer.load(folder("llama-default", tinyTokenizerJson(), tc))) {
            assertArrayEquals(new int[] {0, 3}, tok.encode("hello", true), "add_bos_token defaults to true");
            assertFalse(tok.isLlamaSentencePiece(), "a WordLevel vocabulary is not rebuilt");
        }
        tc.put("add_bos_token", false);
        tc.put("add_eos_token", true);
        try (Tokenizer tok = Tokenizer.load(folder("llama-flags", tinyTokenizerJson(), tc))) {
            assertArrayEquals(new int[] {3, 1}, tok.encode("hello", true));
            assertFalse(tok.specialTokens().addBosToken());
            assertTrue(tok.specialTokens().addEosToken());
        }
        tc.put("eos_token", "<nope>");
        tc.remove("added_tokens_decoder");
        try (Tokenizer tok = Tokenizer.load(folder("llama-new-eos", tinyTokenizerJson(), tc))) {
            assertEquals(8, tok.specialTokens().eosId(), "a named eos that is not in the vocabulary is added");
            assertArrayEquals(new int[] {3, 8}, tok.encode("hello", true));
        }
    }

    @Test
    void cleanUpTokenizationSpacesOnlyForNonBpeModels() throws IOException {
        // WordLevel without a decoder joins tokens with spaces: "hello ." -> cleaned up to "hello."
        try (Tokenizer tok = Tokenizer.load(folder("clean", tinyTokenizerJson(),
                Map.of("clean_up_tokenization_spaces", true)))) {
            assertEquals("hello world.", tok.decode(new int[] {3, 4, 5}, false));
        }
        try (Tokenizer tok = Tokenizer.load(folder("noclean", tinyTokenizerJson(), Map.of()))) {
            assertEquals("hello world .", tok.decode(new int[] {3, 4, 5}, false));
            assertEquals("<s> hello", tok.decode(new int[] {0, 3}, false));
            assertEquals("hello", tok.decode(new int[] {0, 3}, true));
            assertEquals("hello", tok.decode(new int[] {3, 99999}, false), "unknown ids are ignored, as in HF");
            assertEquals("", tok.decode(new int[0], false));
            assertThrows(IllegalArgumentException.class, () -> tok.decode(new int[] {-1}, false));
            assertEquals(8, tok.vocabSize());
            assertNull(tok.idToToken(8));
            assertNull(tok.idToToken(-1));
            assertEquals(OptionalInt.empty(), tok.tokenToId("nope"));
        }
    }

    @Test
    void addedTokensDecoderOfTheConfigIsAdded() throws IOException {
        Map<String, Object> atd = Map.of("6", Map.of("content", "<|eot|>", "special", true, "normalized", false,
                "lstrip", false, "rstrip", false, "single_word", false),
                "8", Map.of("content", "<|new|>", "special", false));
        try (Tokenizer tok = Tokenizer.load(folder("atd", tinyTokenizerJson(), Map.of("added_tokens_decoder", atd)))) {
            assertArrayEquals(new int[] {3, 6, 4}, tok.encode("hello<|eot|>world", false), "matched inside a word");
            assertTrue(tok.isSpecial(6));
            assertEquals(OptionalInt.of(8), tok.tokenToId("<|new|>"), "a new token gets the next id");
            assertFalse(tok.isSpecial(8));
            assertEquals(9, tok.vocabSize());
        }
    }

    @Test
    void chatTemplateSources() throws IOException {
        Path dir = folder("ct1", tinyTokenizerJson(), Map.of("chat_template", "{{ messages }}"));
        try (Tokenizer tok = Tokenizer.load(dir)) {
            assertEquals("{{ messages }}", tok.chatTemplate());
            assertEquals(Map.of("default", "{{ messages }}"), tok.specialTokens().chatTemplates());
        }
        dir = folder("ct2", tinyTokenizerJson(), Map.of("chat_template", List.of(
                Map.of("name", "tool_use", "template", "T"), Map.of("name", "default", "template", "D"))));
        try (Tokenizer tok = Tokenizer.load(dir)) {
            assertEquals("D", tok.chatTemplate());
            assertEquals("T", tok.specialTokens().chatTemplate("tool_use"));
        }
        dir = folder("ct3", tinyTokenizerJson(), Map.of("chat_template", List.of(
                Map.of("name", "rag", "template", "R"), Map.of("name", "tool_use", "template", "T"))));
        try (Tokenizer tok = Tokenizer.load(dir)) {
            assertEquals("R", tok.chatTemplate(), "no \"default\": the first");
        }
        // chat_template.jinja (what newer transformers writes) wins over tokenizer_config.json
        dir = folder("ct4", tinyTokenizerJson(), Map.of("chat_template", "old"));
        Files.writeString(dir.resolve("chat_template.jinja"), "new {{ x }}\n");
        Files.createDirectories(dir.resolve("additional_chat_templates"));
        Files.writeString(dir.resolve("additional_chat_templates/tool_use.jinja"), "tools");
        try (Tokenizer tok = Tokenizer.load(dir)) {
            assertEquals("new {{ x }}\n", tok.chatTemplate());
            assertEquals("tools", tok.specialTokens().chatTemplate("tool_use"));
        }
    }

    @Test
    void aTokenizerJsonPathStandsForItsFolder() throws IOException {
        Path dir = folder("file", tinyTokenizerJson(), Map.of("eos_token", "</s>"));
        try (Tokenizer tok = Tokenizer.load(dir.resolve("tokenizer.json"))) {
            assertEquals(1, tok.specialTokens().eosId());
            assertEquals(dir.toAbsolutePath(), tok.folder().toAbsolutePath());
        }
    }

    // ---- errors -------------------------------------------------------------------------------

    private static void assertMessageNames(JLightException e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "message \"" + e.getMessage() + "\" should name " + p);
        }
    }

    @Test
    void missingFolderOrTokenizerJson() throws IOException {
        Path nowhere = tmp.resolve("nowhere");
        assertMessageNames(assertThrows(JLightException.class, () -> Tokenizer.load(nowhere)), nowhere.toString());
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Files.writeString(empty.resolve("tokenizer.model"), "spm");
        assertMessageNames(assertThrows(JLightException.class, () -> Tokenizer.load(empty)),
                empty.resolve("tokenizer.json").toString(), "missing");
    }

    @Test
    void invalidTokenizerJson() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("bad"));
        Path tj = dir.resolve("tokenizer.json");
        Files.writeString(tj, "{\"model\": {\"type\": \"BPE\", ");
        assertMessageNames(assertThrows(JLightException.class, () -> Tokenizer.load(dir)), tj.toString(), "JSON");

        Files.writeString(tj, "[1, 2]");
        assertMessageNames(assertThrows(JLightException.class, () -> Tokenizer.load(dir)), tj.toString(), "object");

        Files.writeString(tj, "{\"version\": \"1.0\"}");
        assertMessageNames(assertThrows(JLightException.class, () -> Tokenizer.load(dir)), tj.toString(), "model");

        ObjectNode unknownModel = tinyTokenizerJson();
        ((ObjectNode) unknownModel.get("model")).put("type", "NoSuchModel");
        JSON.writeValue(tj.toFile(), unknownModel);
        assertMessageNames(assertThrows(JLightException.class, () -> Tokenizer.load(dir)), tj.toString(), "rejected");

        ObjectNode unknownPost = tinyTokenizerJson();
        unknownPost.set("post_processor", JSON.readTree("{\"type\": \"Mystery\"}"));
        JSON.writeValue(tj.toFile(), unknownPost);
        assertMessageNames(assertThrows(JLightException.class, () -> Tokenizer.load(dir)), tj.toString(), "Mystery");
    }

    @Test
    void invalidCompanionFiles() throws IOException {
        Path dir = folder("companions", tinyTokenizerJson(), null);
        Path tc = dir.resolve("tokenizer_config.json");
        Files.writeString(tc, "{not json");
        assertMessageNames(assertThrows(JLightException.class, () -> Tokenizer.load(dir)), tc.toString(), "JSON");
        Files.writeString(tc, "{\"chat_template\": 42}");
        assertMessageNames(assertThrows(JLightException.class, () -> Tokenizer.load(dir)), tc.toString(),
                "chat_template");
        Files.writeString(tc, "{}");
        Path gen = dir.resolve("generation_config.json");
        Files.writeString(gen, "");
        assertMessageNames(assertThrows(JLightException.class, () -> Tokenizer.load(dir)), gen.toString());
    }
}
