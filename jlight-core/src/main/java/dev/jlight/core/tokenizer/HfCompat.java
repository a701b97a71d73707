package dev.jlight.core.tokenizer;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.jlight.core.JLightException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What HF transformers' {@code AutoTokenizer.from_pretrained} (version 5.18) makes of a model folder,
 * expressed as changes to its tokenizer.json, so that the Rust tokenizer that DJL runs gives the
 * same ids -- except for the BOS/EOS template of Llama-class tokenizers, where JLight keeps
 * transformers 4's (and vLLM's) behaviour (point 3). Everything here was read from transformers 5.18.0 ({@code tokenization_auto.py},
 * {@code tokenization_utils_tokenizers.py}, {@code tokenization_utils_base.py}, {@code
 * models/llama/tokenization_llama.py}) and checked against it on the real tokenizers (see
 * HfReferenceTest).
 *
 * <ol>
 *   <li><b>Which class.</b> transformers 5 picks a tokenizer class from tokenizer_config.json's
 *       {@code tokenizer_class} and config.json's {@code model_type}. Most classes load
 *       tokenizer.json as it is ({@code TokenizersBackend}). {@code LlamaTokenizer} / {@code
 *       LlamaTokenizerFast} does not: it keeps only the vocab and merges of tokenizer.json and
 *       rebuilds the rest as a SentencePiece-style tokenizer: no normalizer, a {@code Metaspace}
 *       pre-tokenizer whose prepend scheme comes from {@code add_prefix_space} (default true) and
 *       {@code legacy} (default false) -- "always" when legacy, "first" when not, "never" without a
 *       prefix space -- and the decoder Replace(▁→' '), ByteFallback, Fuse, Strip(1 leading space,
 *       only with a prefix space). That changes leading spaces: tokenizer.json's {@code
 *       Prepend("▁")} normalizer turns {@code "  Leading"} into {@code "▁▁▁Leading"}, Metaspace
 *       (which does not prepend to text already starting with ▁) into {@code "▁▁Leading"}. Model
 *       types whose registered tokenizer is the generic backend (mistral, mixtral, deepseek_v3, ...:
 *       {@link #RAW_MODEL_TYPES}) keep tokenizer.json as it is even when tokenizer_config.json says
 *       LlamaTokenizer.
 *   <li><b>Sanity guard (deliberate deviation).</b> transformers also applies the Llama rebuild to
 *       byte-level BPE vocabularies whose tokenizer_config.json says LlamaTokenizerFast (DeepSeek-V3
 *       without a config.json beside it, DeepSeek-R1-Distill-Llama loaded from a local path), which
 *       yields garbage (no ids at all for CJK text). JLight applies it only to SentencePiece-style
 *       tokenizer.json files (byte fallback or ▁ in the normalizer/pre-tokenizer/decoder) and loads
 *       the others as they are, which is what transformers does when it picks the class correctly.
 *   <li><b>Special tokens added by {@code add_special_tokens=True}</b> (project policy, not
 *       transformers 5.18). For tokenizer_class LlamaTokenizer(Fast) / CodeLlamaTokenizer(Fast),
 *       JLight builds the template from tokenizer_config.json's {@code add_bos_token} (default
 *       true) and {@code add_eos_token} (default false), as transformers 4's LlamaTokenizerFast
 *       and so vLLM do: DeepSeek-V3's tokenizer.json has no BOS template, yet the model expects its
 *       BOS. transformers 5.18 instead drops those two keys whenever tokenizer.json exists and uses
 *       tokenizer.json's post-processor (so it adds no BOS for DeepSeek-V3). For every other class
 *       the template is tokenizer.json's post-processor (TemplateProcessing, Bert/RobertaProcessing,
 *       Sequence), which both transformers versions use.
 *   <li><b>Added tokens.</b> The tokens of tokenizer_config.json's {@code added_tokens_decoder} and
 *       its named special tokens ({@code bos_token}, ..., {@code additional_special_tokens}, {@code
 *       extra_special_tokens}, other {@code *_token} strings) that tokenizer.json lacks are added, as
 *       transformers does; for the Llama rebuild they replace tokenizer.json's list.
 *   <li><b>Decoding.</b> transformers 5.18 never applies {@code clean_up_tokenization_spaces} to BPE
 *       models; it does for the others.
 *   <li>Truncation and padding of tokenizer.json are removed: the engine never truncates silently.
 * </ol>
 *
 * <p>Not emulated: {@code split_special_tokens: true} (logged), the Mistral pre-tokenizer regex
 * patch ({@code fix_mistral_regex}), and the pipelines that other transformers classes (GPT2,
 * GPTNeoX, Gemma, T5, ...) rebuild; those load tokenizer.json as it is.
 */
final class HfCompat {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(HfCompat.class);
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    static final String SPIECE_UNDERLINE = "\u2581";

    /**
     * Model types whose tokenizer transformers 5.18 registers as the generic backend
     * (TokenizersBackend, PreTrainedTokenizerFast or MistralCommonBackend), so a tokenizer_class of
     * LlamaTokenizer in their tokenizer_config.json is ignored; plus those it maps to another
     * specific class (qwen2, ...). Taken from transformers 5.18.0's TOKENIZER_MAPPING_NAMES and
     * MODELS_WITH_INCORRECT_HUB_TOKENIZER_CLASS.
     */
    static final Set<String> RAW_MODEL_TYPES = Set.of(
            "EvollaModel", "arctic", "aria", "bigbird_pegasus", "camembertv2-base", "canary",
            "chameleon", "chatlm", "cohere_asr", "deepseek_ocr", "deepseek_ocr2", "deepseek_v2",
            "deepseek_v3", "deepseek_v32", "deepseek_v4", "deepseek_vl", "deepseek_vl_hybrid",
            "deepseek_vl_v2", "ernie4_5", "ernie4_5_moe", "flex_olmo", "fuyu", "glm", "glm4",
            "glm4_moe", "glm4_moe_lite", "glm4v", "glm4v_moe", "glm_image", "glmasr", "got_ocr2",
            "gpt_bigcode", "granite", "granitemoe", "granitemoehybrid", "granitemoeshared",
            "h2ovl_chat", "hyperclovax", "hyperclovax_vlm", "internlm2", "jamba", "janus",
            "kimi_k25", "kimi_linear", "kosmos-2", "llava", "llava_next", "mimo_v2_flash",
            "minicpm3", "minicpmv", "minicpmv4_6", "minicpmv4_7", "minimax_m2", "ministral",
            "ministral3", "mistral", "mistral3", "mixtral", "modernbert", "modernbert-decoder",
            "molmo", "molmo2", "nemotron", "nvfp4", "nystromformer", "olmo2", "olmo3",
            "olmo_hybrid", "opencua", "openvla", "paddleocr_vl", "pegasus_x", "persimmon", "phi3",
            "phi3_v", "phimoe", "pix2struct", "pixtral", "smolvlm", "stablelm", "step3_vl",
            "step3p5", "umt5", "vipllava", "voxtral", "voxtral_realtime", "xlm-roberta-xl",
            // mapped to another specific class for which LlamaTokenizer is "incorrect"
            "hyperclovax_vision_v2", "qwen2", "qwen3_5", "qwen3_5_moe", "qwen3_5_moe_text",
            "qwen4_exp");

    /**
     * Classes whose transformers 4 fast tokenizer rebuilt the post-processor from {@code
     * add_bos_token} (default true) and {@code add_eos_token} (default false); JLight keeps that
     * behaviour (see the class comment).
     */
    static final Set<String> LLAMA_FAST_CLASSES = Set.of(
            "LlamaTokenizer", "LlamaTokenizerFast", "CodeLlamaTokenizer", "CodeLlamaTokenizerFast");

    /** How the tokenizer.json was turned into the one DJL loads. */
    enum Mode {
        /** tokenizer.json as it is (transformers' TokenizersBackend and most other classes). */
        AS_IS,
        /** transformers' LlamaTokenizer rebuild (SentencePiece-style Metaspace). */
        LLAMA_SENTENCEPIECE
    }

    /** One entry of the added vocabulary. */
    record AddedToken(int id, String content, boolean special) {}

    /** The result: the JSON to load and what the Java side needs to know. */
    record Prepared(
            byte[] tokenizerJson,
            JsonNode decoder,
            Mode mode,
            int[] prefixIds,
            int[] suffixIds,
            boolean cleanUpSpaces,
            String modelType,
            List<AddedToken> addedTokens,
            Map<String, Integer> modelVocab) {}

    private HfCompat() {}

    /**
     * @param file tokenizer.json's path (for messages)
     * @param bytes tokenizer.json's content
     * @param tc tokenizer_config.json's tree, or an empty object
     * @param modelType config.json's model_type, or null
     * @param configTokenizerClass config.json's tokenizer_class, or null
     */
    static Prepared prepare(Path file, byte[] bytes, ObjectNode tc, String modelType, String configTokenizerClass) {
        TokenizerJson tj = TokenizerJson.parse(file, bytes);
        ObjectNode model = tj.model;
        String modelKind = model.path("type").asText("");
        Map<String, Integer> vocab = tj.vocab;

        String rawHubClass = text(tc.get("tokenizer_class"));
        if (rawHubClass == null) {
            rawHubClass = configTokenizerClass;
        }
        String hubClass = rawHubClass == null ? null : rawHubClass.replaceFirst("Fast$", "");

        Mode mode = Mode.AS_IS;
        if ("LlamaTokenizer".equals(hubClass) && (modelType == null || !RAW_MODEL_TYPES.contains(modelType))) {
            if (isSentencePieceStyle(tj.top, model)) {
                mode = Mode.LLAMA_SENTENCEPIECE;
            } else {
                LOG.info("{}: tokenizer_class LlamaTokenizer over a non-SentencePiece vocabulary; loading tokenizer.json"
                        + " as it is", file);
            }
        }

        if (tc.path("split_special_tokens").asBoolean(false)) {
            LOG.warn("{}: split_special_tokens=true is not supported; special tokens in text are still recognised",
                    file.resolveSibling("tokenizer_config.json"));
        }

        if (mode == Mode.LLAMA_SENTENCEPIECE) {
            rebuildAsLlama(tj, tc);
        }
        tj.top.putNull("truncation");
        tj.top.putNull("padding");

        List<AddedToken> added = mergeAddedTokens(file, tj.top, tc, vocab, mode);

        Map<String, Integer> addedIds = new HashMap<>();
        for (AddedToken a : added) {
            addedIds.put(a.content(), a.id());
        }
        java.util.function.Function<String, Integer> contentToId =
                c -> addedIds.containsKey(c) ? addedIds.get(c) : vocab.get(c);
        List<Integer> prefix = new ArrayList<>();
        List<Integer> suffix = new ArrayList<>();
        if (rawHubClass != null && LLAMA_FAST_CLASSES.contains(rawHubClass)) {
            llamaTemplate(file, tc, contentToId, prefix, suffix);
        } else {
            parsePostProcessor(file, tj.top.get("post_processor"), contentToId, prefix, suffix);
        }

        boolean cleanUp = tc.path("clean_up_tokenization_spaces").asBoolean(false) && !"BPE".equals(modelKind);
        return new Prepared(tj.write(), tj.top.get("decoder"), mode, toArray(prefix), toArray(suffix), cleanUp,
                modelType, added, vocab);
    }

    /**
     * tokenizer.json, read without building a tree of its large parts: the model's vocab is read into
     * a map and, like the merges, passed through to the output as the original bytes.
     */
    static final class TokenizerJson {
        private static final ObjectMapper JSON = new ObjectMapper();

        final byte[] source;
        /** Every top-level field but "model", in order. */
        final ObjectNode top = F.objectNode();
        /** The model's fields but "vocab" and "merges". */
        ObjectNode model = F.objectNode();
        final Map<String, Integer> vocab = new HashMap<>();
        long[] vocabSpan;
        long[] mergesSpan;

        private TokenizerJson(byte[] source) {
            this.source = source;
        }

        static TokenizerJson parse(Path file, byte[] bytes) {
            TokenizerJson tj = new TokenizerJson(bytes);
            boolean sawModel = false;
            try (JsonParser p = JSON.createParser(bytes)) {
                if (p.nextToken() != JsonToken.START_OBJECT) {
                    throw JLightException.inFile(file, "not a JSON object");
                }
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    JsonToken t = p.nextToken();
                    if ("model".equals(name) && t == JsonToken.START_OBJECT) {
                        tj.parseModel(file, p);
                        sawModel = true;
                    } else {
                        tj.top.set(name, p.readValueAsTree());
                    }
                }
                if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
                    throw JLightException.inFile(file, "not valid JSON: trailing content");
                }
            } catch (IOException e) {
                throw new JLightException(file + ": not valid JSON: " + e.getMessage(), e);
            }
            if (!sawModel) {
                throw JLightException.inFile(file, "no \"model\" object: not a HF tokenizers tokenizer.json");
            }
            if (tj.vocabSpan == null) {
                throw JLightException.inFile(file, "model has no \"vocab\"");
            }
            return tj;
        }

        private void parseModel(Path file, JsonParser p) throws IOException {
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String k = p.currentName();
                JsonToken t = p.nextToken();
                if ("vocab".equals(k) && t == JsonToken.START_OBJECT) {
                    long start = p.currentTokenLocation().getByteOffset();
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String token = p.currentName();
                        if (!p.nextToken().isNumeric()) {
                            throw JLightException.inFile(file, "model.vocab[\"" + token + "\"] is not an integer id");
                        }
                        vocab.put(token, p.getIntValue());
                    }
                    vocabSpan = new long[] {start, p.currentLocation().getByteOffset()};
                } else if ("vocab".equals(k) && t == JsonToken.START_ARRAY) { // Unigram: [[piece, score], ...]
                    long start = p.currentTokenLocation().getByteOffset();
                    int id = 0;
                    for (JsonToken e = p.nextToken(); e != JsonToken.END_ARRAY; e = p.nextToken()) {
                        String piece;
                        if (e == JsonToken.START_ARRAY) {
                            p.nextToken();
                            piece = p.getText();
                            while (p.nextToken() != JsonToken.END_ARRAY) {
                                p.skipChildren();
                            }
                        } else {
                            piece = p.getText();
                        }
                        vocab.putIfAbsent(piece, id++);
                    }
                    vocabSpan = new long[] {start, p.currentLocation().getByteOffset()};
                } else if ("vocab".equals(k)) {
                    throw JLightException.inFile(file, "model.vocab is neither an object nor an array");
                } else if ("merges".equals(k) && t == JsonToken.START_ARRAY) {
                    long start = p.currentTokenLocation().getByteOffset();
                    p.skipChildren();
                    mergesSpan = new long[] {start, p.currentLocation().getByteOffset()};
                } else {
                    model.set(k, p.readValueAsTree());
                }
            }
        }

        /** The JSON DJL loads: the (changed) small parts re-serialised, vocab and merges as they were. */
        byte[] write() {
            ByteArrayOutputStream out = new ByteArrayOutputStream(source.length + 4096);
            try {
                out.write('{');
                boolean first = true;
                for (Map.Entry<String, JsonNode> e : top.properties()) {
                    first = field(out, first, e.getKey(), JSON.writeValueAsBytes(e.getValue()));
                }
                field(out, first, "model", null);
                out.write('{');
                boolean firstInModel = true;
                for (Map.Entry<String, JsonNode> e : model.properties()) {
                    firstInModel = field(out, firstInModel, e.getKey(), JSON.writeValueAsBytes(e.getValue()));
                }
                firstInModel = field(out, firstInModel, "vocab", null);
                out.write(source, (int) vocabSpan[0], (int) (vocabSpan[1] - vocabSpan[0]));
                field(out, firstInModel, "merges", null);
                if (mergesSpan != null) {
                    out.write(source, (int) mergesSpan[0], (int) (mergesSpan[1] - mergesSpan[0]));
                } else {
                    out.write(new byte[] {'[', ']'});
                }
                out.write(new byte[] {'}', '}'});
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return out.toByteArray();
        }

        private static boolean field(ByteArrayOutputStream out, boolean first, String name, byte[] value)
                throws IOException {
            if (!first) {
                out.write(',');
            }
            out.write(JSON.writeValueAsBytes(name));
            out.write(':');
            if (value != null) {
                out.write(value);
            }
            return false;
        }
    }

    // ---- which class -------------------------------------------------------------------------

    private static boolean isSentencePieceStyle(ObjectNode tj, JsonNode model) {
        if (!"BPE".equals(model.path("type").asText())) {
            return false;
        }
        if (model.path("byte_fallback").asBoolean(false)) {
            return true;
        }
        for (String k : new String[] {"normalizer", "pre_tokenizer", "decoder"}) {
            JsonNode n = tj.get(k);
            if (n != null && !n.isNull() && n.toString().contains(SPIECE_UNDERLINE)) {
                return true;
            }
        }
        return false;
    }

    // ---- the LlamaTokenizer rebuild -----------------------------------------------------------

    private static void rebuildAsLlama(TokenizerJson json, ObjectNode tc) {
        ObjectNode tj = json.top;
        JsonNode aps = tc.get("add_prefix_space");
        boolean addPrefixSpace = aps == null || aps.isNull() || aps.asBoolean(true);
        // LlamaTokenizer.__init__(legacy=False) in transformers 5; _get_prepend_scheme treats a null
        // legacy as not legacy.
        boolean legacy = tc.path("legacy").asBoolean(false);
        String scheme = addPrefixSpace ? (legacy ? "always" : "first") : "never";

        tj.putNull("normalizer");
        ObjectNode pre = F.objectNode();
        pre.put("type", "Metaspace");
        pre.put("replacement", SPIECE_UNDERLINE);
        pre.put("prepend_scheme", scheme);
        pre.put("split", false);
        tj.set("pre_tokenizer", pre);

        ArrayNode decoders = F.arrayNode();
        ObjectNode replace = decoders.addObject();
        replace.put("type", "Replace");
        replace.putObject("pattern").put("String", SPIECE_UNDERLINE);
        replace.put("content", " ");
        decoders.addObject().put("type", "ByteFallback");
        decoders.addObject().put("type", "Fuse");
        if (addPrefixSpace) {
            ObjectNode strip = decoders.addObject();
            strip.put("type", "Strip");
            strip.put("content", " ");
            strip.put("start", 1);
            strip.put("stop", 0);
        }
        ObjectNode dec = F.objectNode();
        dec.put("type", "Sequence");
        dec.set("decoders", decoders);
        tj.set("decoder", dec);

        // BPE(vocab, merges, fuse_unk=True, byte_fallback=True, dropout=None); no unk token
        ObjectNode m = F.objectNode();
        m.put("type", "BPE");
        m.putNull("dropout");
        m.putNull("unk_token");
        m.putNull("continuing_subword_prefix");
        m.putNull("end_of_word_suffix");
        m.put("fuse_unk", true);
        m.put("byte_fallback", true);
        m.put("ignore_merges", false);
        json.model = m; // vocab and merges follow as they were

        // The rebuilt tokenizer starts without added tokens; mergeAddedTokens adds the config's.
        if (tc.has("added_tokens_decoder") && tc.get("added_tokens_decoder").isObject()) {
            tj.set("added_tokens", F.arrayNode());
        }
    }

    // ---- added tokens -------------------------------------------------------------------------

    private static List<AddedToken> mergeAddedTokens(
            Path file, ObjectNode tj, ObjectNode tc, Map<String, Integer> vocab, Mode mode) {
        JsonNode atn = tj.get("added_tokens");
        ArrayNode list = atn != null && atn.isArray() ? (ArrayNode) atn : tj.putArray("added_tokens");
        Map<String, ObjectNode> byContent = new LinkedHashMap<>();
        int maxAdded = -1;
        for (JsonNode n : list) {
            if (!n.isObject() || !n.hasNonNull("content") || !n.path("id").canConvertToInt()) {
                throw JLightException.inFile(file, "an added_tokens entry lacks \"id\" or \"content\": " + n);
            }
            byContent.put(n.get("content").asText(), (ObjectNode) n);
            maxAdded = Math.max(maxAdded, n.get("id").intValue());
        }
        int modelSize = vocab.isEmpty() ? 0 : vocab.values().stream().mapToInt(Integer::intValue).max().getAsInt() + 1;
        int[] next = {Math.max(maxAdded + 1, modelSize)};

        // tokenizer_config.json's added_tokens_decoder, by id order (transformers sorts them)
        JsonNode atd = tc.get("added_tokens_decoder");
        if (atd != null && atd.isObject()) {
            List<Map.Entry<Integer, JsonNode>> entries = new ArrayList<>();
            atd.properties().forEach(e -> {
                try {
                    entries.add(Map.entry(Integer.parseInt(e.getKey()), e.getValue()));
                } catch (NumberFormatException ex) {
                    throw JLightException.inFile(file.resolveSibling("tokenizer_config.json"),
                            "added_tokens_decoder key \"" + e.getKey() + "\" is not an id");
                }
            });
            entries.sort(Map.Entry.comparingByKey());
            for (Map.Entry<Integer, JsonNode> e : entries) {
                JsonNode spec = e.getValue();
                String content = spec.isTextual() ? spec.asText() : text(spec.get("content"));
                if (content == null || content.isEmpty()) {
                    continue;
                }
                ObjectNode existing = byContent.get(content);
                if (existing != null) {
                    if (spec.isObject()) { // same content, the config's flags win
                        for (String k : new String[] {"special", "normalized", "lstrip", "rstrip", "single_word"}) {
                            if (spec.has(k)) {
                                existing.put(k, spec.get(k).asBoolean());
                            }
                        }
                    }
                    continue;
                }
                ObjectNode n = newAdded(content, vocab, next, spec.isObject() ? spec : null, true);
                list.add(n);
                byContent.put(content, n);
            }
        }

        // named special tokens that are not added tokens yet
        for (String name : namedSpecialTokens(tc)) {
            if (!byContent.containsKey(name)) {
                ObjectNode n = newAdded(name, vocab, next, null, true);
                list.add(n);
                byContent.put(name, n);
            }
        }

        List<AddedToken> out = new ArrayList<>();
        for (ObjectNode n : byContent.values()) {
            out.add(new AddedToken(n.get("id").intValue(), n.get("content").asText(), n.path("special").asBoolean(false)));
        }
        if (mode == Mode.LLAMA_SENTENCEPIECE) {
            LOG.debug("{}: rebuilt as transformers' LlamaTokenizer with {} added tokens", file, out.size());
        }
        return out;
    }

    private static ObjectNode newAdded(String content, Map<String, Integer> vocab, int[] next, JsonNode flags,
            boolean defaultSpecial) {
        Integer id = vocab.get(content);
        if (id == null) {
            id = next[0]++;
        }
        boolean special = flags != null && flags.has("special") ? flags.get("special").asBoolean() : defaultSpecial;
        ObjectNode n = F.objectNode();
        n.put("id", id);
        n.put("content", content);
        n.put("single_word", flags != null && flags.path("single_word").asBoolean(false));
        n.put("lstrip", flags != null && flags.path("lstrip").asBoolean(false));
        n.put("rstrip", flags != null && flags.path("rstrip").asBoolean(false));
        // transformers' AddedToken(normalized = not special) unless the config says otherwise
        n.put("normalized", flags != null && flags.has("normalized") ? flags.get("normalized").asBoolean() : !special);
        n.put("special", special);
        return n;
    }

    /** The special-token strings tokenizer_config.json names, in transformers' order. */
    static List<String> namedSpecialTokens(ObjectNode tc) {
        List<String> out = new ArrayList<>();
        for (String k : new String[] {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
                "mask_token"}) {
            addTokenText(out, tc.get(k));
        }
        // model-specific *_token strings (image_token, ...): special tokens in transformers 5
        for (Map.Entry<String, JsonNode> e : tc.properties()) {
            String k = e.getKey();
            if (k.endsWith("_token") && text(e.getValue()) != null
                    && !List.of("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
                            "mask_token").contains(k)) {
                addTokenText(out, e.getValue());
            }
        }
        for (String k : new String[] {"additional_special_tokens", "extra_special_tokens"}) {
            JsonNode v = tc.get(k);
            if (v == null) {
                continue;
            }
            if (v.isArray()) {
                v.forEach(x -> addTokenText(out, x));
            } else if (v.isObject()) {
                v.properties().forEach(e -> addTokenText(out, e.getValue()));
            }
        }
        return out;
    }

    private static void addTokenText(List<String> out, JsonNode v) {
        String s = text(v);
        if (s != null && !s.isEmpty() && !out.contains(s)) {
            out.add(s);
        }
    }

    /** A token given as a string or as an {@code {"content": ...}} object; null otherwise. */
    static String text(JsonNode v) {
        if (v == null || v.isNull()) {
            return null;
        }
        if (v.isTextual()) {
            return v.asText();
        }
        if (v.isObject() && v.hasNonNull("content")) {
            return v.get("content").asText();
        }
        return null;
    }

    // ---- post-processor ---------------------------------------------------------------------

    /** transformers 4's LlamaTokenizerFast.update_post_processor: "bos:0 $A:0 eos:0" by the flags. */
    private static void llamaTemplate(Path file, ObjectNode tc,
            java.util.function.Function<String, Integer> contentToId, List<Integer> prefix, List<Integer> suffix) {
        boolean addBos = tc.path("add_bos_token").asBoolean(true);
        boolean addEos = tc.path("add_eos_token").asBoolean(false);
        String bos = text(tc.get("bos_token"));
        String eos = text(tc.get("eos_token"));
        Path tcFile = file.resolveSibling("tokenizer_config.json");
        if (addBos && bos != null) {
            Integer id = contentToId.apply(bos);
            if (id == null) {
                throw JLightException.inFile(tcFile, "bos_token \"" + bos + "\" is not in the vocabulary");
            }
            prefix.add(id);
        }
        if (addEos && eos != null) {
            Integer id = contentToId.apply(eos);
            if (id == null) {
                throw JLightException.inFile(tcFile, "eos_token \"" + eos + "\" is not in the vocabulary");
            }
            suffix.add(id);
        }
    }

    private static void parsePostProcessor(Path file, JsonNode pp,
            java.util.function.Function<String, Integer> contentToId,
            List<Integer> prefix, List<Integer> suffix) {
        if (pp == null || pp.isNull()) {
            return;
        }
        String type = pp.path("type").asText("");
        switch (type) {
            case "ByteLevel" -> { /* offsets only */ }
            case "Sequence" -> {
                for (JsonNode p : pp.path("processors")) {
                    List<Integer> pre = new ArrayList<>();
                    List<Integer> suf = new ArrayList<>();
                    parsePostProcessor(file, p, contentToId, pre, suf);
                    prefix.addAll(0, pre); // a later processor wraps the earlier result
                    suffix.addAll(suf);
                }
            }
            case "TemplateProcessing" -> {
                JsonNode single = pp.path("single");
                JsonNode specials = pp.path("special_tokens");
                boolean seenSequence = false;
                for (JsonNode piece : single) {
                    if (piece.has("Sequence")) {
                        seenSequence = true;
                        continue;
                    }
                    JsonNode st = piece.get("SpecialToken");
                    if (st == null) {
                        throw JLightException.inFile(file, "post_processor template piece not understood: " + piece);
                    }
                    String key = st.path("id").asText();
                    JsonNode spec = specials.get(key);
                    List<Integer> ids = new ArrayList<>();
                    if (spec != null && spec.has("ids")) {
                        spec.get("ids").forEach(x -> ids.add(x.intValue()));
                    } else if (contentToId.apply(key) != null) {
                        ids.add(contentToId.apply(key));
                    } else {
                        throw JLightException.inFile(file, "post_processor names special token \"" + key
                                + "\" that is in neither its special_tokens nor the vocabulary");
                    }
                    (seenSequence ? suffix : prefix).addAll(ids);
                }
            }
            case "BertProcessing", "RobertaProcessing" -> {
                // {"sep": ["[SEP]", 102], "cls": ["[CLS]", 101]}: [CLS] A [SEP]
                prefix.add(pp.path("cls").path(1).intValue());
                suffix.add(pp.path("sep").path(1).intValue());
            }
            default -> throw JLightException.inFile(file, "post_processor type \"" + type + "\" is not supported");
        }
    }

    private static int[] toArray(List<Integer> l) {
        int[] a = new int[l.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = l.get(i);
        }
        return a;
    }

    /** transformers' {@code clean_up_tokenization} (applied only to non-BPE models). */
    static String cleanUpTokenization(String text) {
        return text.replace(" .", ".")
                .replace(" ?", "?")
                .replace(" !", "!")
                .replace(" ,", ",")
                .replace(" ' ", "'")
                .replace(" n't", "n't")
                .replace(" 'm", "'m")
                .replace(" 's", "'s")
                .replace(" 've", "'ve")
                .replace(" 're", "'re");
    }
}
