package dev.jlight.core.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.jlight.core.JLightException;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;

/**
 * The tokenizer of a HF model folder: HF tokenizers (Rust, through DJL) on the folder's
 * tokenizer.json, set up so that ids match HF transformers' {@code AutoTokenizer} (see {@link
 * HfCompat} for what that takes and for the version it was checked against).
 *
 * <p>DJL is built so that it adds no special tokens and neither truncates nor pads: {@link
 * #encode(String, boolean)} adds the special-token template itself (so {@link
 * SpecialTokens#addBosToken()} tells exactly what {@code addSpecialTokens=true} does): tokenizer.json's
 * post-processor, or for Llama-class tokenizers {@code add_bos_token}/{@code add_eos_token} of
 * tokenizer_config.json, as transformers 4 and vLLM do.
 * Special tokens written in the text ({@code "<|begin_of_text|>"}) are recognised as those tokens,
 * as in transformers.
 *
 * <p>Thread-safe: encode and decode may be called from several threads. Close it to free the native
 * tokenizer.
 */
public final class Tokenizer implements AutoCloseable {

    static {
        // DJL otherwise probes the EC2 metadata address when a tokenizer is created, and may try to
        // download native libraries; JLight runs offline.
        if (System.getProperty("OPT_OUT_TRACKING") == null) {
            System.setProperty("OPT_OUT_TRACKING", "true");
        }
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Tokenizer.class);

    private final Path folder;
    private final HuggingFaceTokenizer hf;
    private final String[] idToToken;
    private final Map<String, Integer> tokenToId;
    private final boolean[] special;
    /** Byte tokens ({@code <0x0A>}) of a ByteFallback decoder; null when the decoder has none. */
    private final boolean[] bytePiece;
    private final int[] prefixIds;
    private final int[] suffixIds;
    private final boolean cleanUpSpaces;
    private final HfCompat.Mode mode;
    private final SpecialTokens specialTokens;

    private Tokenizer(Path folder, HuggingFaceTokenizer hf, HfCompat.Prepared p, ObjectNode tc,
            JsonNode generationConfig, JsonNode config, Map<String, String> chatTemplates) {
        this.folder = folder;
        this.hf = hf;
        this.prefixIds = p.prefixIds();
        this.suffixIds = p.suffixIds();
        this.cleanUpSpaces = p.cleanUpSpaces();
        this.mode = p.mode();

        int size = 0;
        for (int id : p.modelVocab().values()) {
            size = Math.max(size, id + 1);
        }
        for (HfCompat.AddedToken a : p.addedTokens()) {
            size = Math.max(size, a.id() + 1);
        }
        idToToken = new String[size];
        special = new boolean[size];
        tokenToId = p.modelVocab(); // ours from here on
        for (Map.Entry<String, Integer> e : tokenToId.entrySet()) {
            idToToken[e.getValue()] = e.getKey();
        }
        for (HfCompat.AddedToken a : p.addedTokens()) { // the added vocabulary wins, both ways
            idToToken[a.id()] = a.content();
            tokenToId.put(a.content(), a.id());
            special[a.id()] = a.special();
        }
        this.bytePiece = hasByteFallbackDecoder(p.decoder()) ? bytePieces(idToToken) : null;
        this.specialTokens = buildSpecialTokens(tc, generationConfig, config, chatTemplates);
    }

    private static boolean hasByteFallbackDecoder(JsonNode decoder) {
        if (decoder == null || decoder.isNull()) {
            return false;
        }
        if ("ByteFallback".equals(decoder.path("type").asText())) {
            return true;
        }
        for (JsonNode d : decoder.path("decoders")) {
            if (hasByteFallbackDecoder(d)) {
                return true;
            }
        }
        return false;
    }

    /** The tokens HF's ByteFallback decoder turns into a byte: exactly {@code <0xHH>}. */
    private static boolean[] bytePieces(String[] idToToken) {
        boolean[] b = new boolean[idToToken.length];
        for (int i = 0; i < idToToken.length; i++) {
            String t = idToToken[i];
            b[i] = t != null && t.length() == 6 && t.startsWith("<0x") && t.endsWith(">")
                    && isHex(t.charAt(3)) && isHex(t.charAt(4));
        }
        return b;
    }

    private static boolean isHex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
    }

    /**
     * Loads the tokenizer of a model folder (tokenizer.json, required; tokenizer_config.json,
     * generation_config.json, config.json, chat_template.jinja and additional_chat_templates/,
     * optional). A path to a tokenizer.json file stands for its folder.
     *
     * @throws JLightException naming the file when tokenizer.json is missing or invalid, or another
     *     of those files is not valid JSON
     */
    public static Tokenizer load(Path modelDir) {
        Path folder = Files.isRegularFile(modelDir) ? modelDir.toAbsolutePath().getParent() : modelDir;
        if (!Files.isDirectory(folder)) {
            throw JLightException.inFile(modelDir, "no such model folder");
        }
        Path tjPath = Files.isRegularFile(modelDir) ? modelDir : folder.resolve("tokenizer.json");
        if (!Files.isRegularFile(tjPath)) {
            throw JLightException.inFile(tjPath, "missing: JLight needs the HF tokenizers file tokenizer.json"
                    + " (a folder with only tokenizer.model or vocab files is not supported)");
        }
        byte[] tjBytes;
        try {
            tjBytes = Files.readAllBytes(tjPath);
        } catch (IOException e) {
            throw new JLightException(tjPath + ": cannot read: " + e.getMessage(), e);
        }
        ObjectNode tc = readObject(folder.resolve("tokenizer_config.json"), false);
        JsonNode config = readObject(folder.resolve("config.json"), false);
        JsonNode genConfig = Files.isRegularFile(folder.resolve("generation_config.json"))
                ? readObject(folder.resolve("generation_config.json"), true)
                : null;
        String modelType = HfCompat.text(config.get("model_type"));
        String configTokClass = HfCompat.text(config.get("tokenizer_class"));

        HfCompat.Prepared p = HfCompat.prepare(tjPath, tjBytes, tc, modelType, configTokClass);
        HuggingFaceTokenizer hf;
        try {
            byte[] bytes = p.tokenizerJson();
            Map<String, String> options = Map.of(
                    "addSpecialTokens", "false",
                    "truncation", "false",
                    "padding", "false",
                    "withOverflowingTokens", "false");
            hf = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(bytes), options);
        } catch (IOException | RuntimeException e) {
            throw new JLightException(tjPath + ": the HF tokenizers library rejected it: " + e.getMessage(), e);
        }
        try {
            return new Tokenizer(folder, hf, p, tc, genConfig, config, readChatTemplates(folder, tc));
        } catch (RuntimeException e) {
            hf.close();
            throw e;
        }
    }

    /**
     * Encodes text. With {@code addSpecialTokens} the template's special tokens are added around the
     * text's ids (usually a BOS in front), as {@code tokenizer(text)} does; without, only the
     * text's ids.
     */
    public int[] encode(String text, boolean addSpecialTokens) {
        long[] ids = hf.encode(sanitize(text), false, false).getIds();
        int pre = addSpecialTokens ? prefixIds.length : 0;
        int suf = addSpecialTokens ? suffixIds.length : 0;
        int[] out = new int[pre + ids.length + suf];
        if (pre > 0) {
            System.arraycopy(prefixIds, 0, out, 0, pre);
        }
        for (int i = 0; i < ids.length; i++) {
            out[pre + i] = (int) ids[i];
        }
        if (suf > 0) {
            System.arraycopy(suffixIds, 0, out, pre + ids.length, suf);
        }
        return out;
    }

    /**
     * Decodes ids as transformers' {@code tokenizer.decode(ids, skip_special_tokens=...)} does. Ids
     * that are not in the vocabulary are ignored, as there.
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        return decode(ids, 0, ids.length, skipSpecialTokens);
    }

    /** Decodes {@code ids[from, to)}. */
    public String decode(int[] ids, int from, int to, boolean skipSpecialTokens) {
        java.util.Objects.checkFromToIndex(from, to, ids.length);
        long[] l = new long[to - from];
        for (int i = from; i < to; i++) {
            if (ids[i] < 0) {
                throw new IllegalArgumentException("negative token id " + ids[i] + " at index " + i);
            }
            l[i - from] = ids[i];
        }
        if (l.length == 0) {
            return "";
        }
        String s = hf.decode(l, skipSpecialTokens);
        return cleanUpSpaces ? HfCompat.cleanUpTokenization(s) : s;
    }

    /** The vocabulary string of an id ({@code convert_ids_to_tokens}), or null for an unknown id. */
    public String idToToken(int id) {
        return id >= 0 && id < idToToken.length ? idToToken[id] : null;
    }

    /** The id of a vocabulary string (added tokens included). */
    public OptionalInt tokenToId(String token) {
        Integer id = tokenToId.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /**
     * The size of the id space: the highest id of the vocabulary or the added tokens, plus one
     * (transformers' {@code len(tokenizer)} where ids have no gaps). The model's embedding may be
     * larger.
     */
    public int vocabSize() {
        return idToToken.length;
    }

    /** Whether id is a special added token (the ones {@code skipSpecialTokens} drops). */
    public boolean isSpecial(int id) {
        return id >= 0 && id < special.length && special[id];
    }

    /**
     * A streaming detokenizer for one generated sequence, seeded with the end of its prompt: the
     * engine's {@link dev.jlight.core.engine.TextDecoderFactory} is {@code tokenizer::newDecoder}.
     */
    public IncrementalDetokenizer newDecoder(int[] promptIds, boolean skipSpecialTokens) {
        return new IncrementalDetokenizer(this, promptIds, skipSpecialTokens);
    }

    public SpecialTokens specialTokens() {
        return specialTokens;
    }

    /** The raw default chat template, or null when the folder has none. */
    public String chatTemplate() {
        return specialTokens.chatTemplate();
    }

    public Path folder() {
        return folder;
    }

    /**
     * Whether id is a byte token of a ByteFallback decoder ({@code <0xE6>}). Such a decoder turns a
     * run of consecutive byte tokens into text as a whole (and every byte of an invalid run into
     * U+FFFD), so the text of a run is known only once the run has ended.
     */
    boolean isBytePiece(int id) {
        return bytePiece != null && id >= 0 && id < bytePiece.length && bytePiece[id];
    }

    /** Whether the transformers LlamaTokenizer rebuild applies (SentencePiece Metaspace handling). */
    public boolean isLlamaSentencePiece() {
        return mode == HfCompat.Mode.LLAMA_SENTENCEPIECE;
    }

    @Override
    public void close() {
        hf.close();
    }

    @Override
    public String toString() {
        return "Tokenizer[" + folder + ", vocab " + vocabSize() + ", " + mode + "]";
    }

    // ---- helpers ------------------------------------------------------------------------------

    /** Lone surrogates cannot cross into Rust as UTF-8; transformers cannot encode them either. */
    private static String sanitize(String text) {
        int n = text.length();
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            if (Character.isSurrogate(c)) {
                boolean paired = Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(text.charAt(i + 1));
                if (paired) {
                    i++;
                } else {
                    return replaceLoneSurrogates(text);
                }
            }
        }
        return text;
    }

    private static String replaceLoneSurrogates(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        int n = text.length();
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(text.charAt(i + 1))) {
                sb.append(c).append(text.charAt(++i));
            } else if (Character.isSurrogate(c)) {
                sb.append('\uFFFD');
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static ObjectNode readObject(Path file, boolean required) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            if (required) {
                throw JLightException.inFile(file, "missing");
            }
            return JSON.createObjectNode();
        } catch (IOException e) {
            throw new JLightException(file + ": cannot read: " + e.getMessage(), e);
        }
        JsonNode n;
        try {
            n = JSON.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw new JLightException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new JLightException(file + ": cannot read: " + e.getMessage(), e);
        }
        if (n == null || !n.isObject()) {
            throw JLightException.inFile(file, "not a JSON object");
        }
        return (ObjectNode) n;
    }

    private static Map<String, String> readChatTemplates(Path folder, ObjectNode tc) {
        // transformers 5: chat_template.jinja and additional_chat_templates/*.jinja take priority over
        // tokenizer_config.json's chat_template (a string, or a list of {name, template}).
        Map<String, String> out = new LinkedHashMap<>();
        Path main = folder.resolve("chat_template.jinja");
        if (Files.isRegularFile(main)) {
            out.put("default", readString(main));
        }
        Path dir = folder.resolve("additional_chat_templates");
        if (Files.isDirectory(dir)) {
            Map<String, String> extra = new TreeMap<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.jinja")) {
                for (Path p : ds) {
                    String name = p.getFileName().toString();
                    extra.put(name.substring(0, name.length() - ".jinja".length()), readString(p));
                }
            } catch (IOException e) {
                throw new JLightException(dir + ": cannot list: " + e.getMessage(), e);
            }
            out.putAll(extra);
        }
        if (!out.isEmpty()) {
            return out;
        }
        JsonNode ct = tc.get("chat_template");
        Path tcFile = folder.resolve("tokenizer_config.json");
        if (ct == null || ct.isNull()) {
            return out;
        }
        if (ct.isTextual()) {
            out.put("default", ct.asText());
        } else if (ct.isArray()) {
            for (JsonNode t : ct) {
                String name = HfCompat.text(t.get("name"));
                JsonNode tmpl = t.get("template");
                if (name == null || tmpl == null || !tmpl.isTextual()) {
                    throw JLightException.inFile(tcFile, "chat_template list entry lacks \"name\" or \"template\"");
                }
                out.put(name, tmpl.asText());
            }
        } else {
            throw JLightException.inFile(tcFile, "chat_template is neither a string nor a list of {name, template}");
        }
        return out;
    }

    private static String readString(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new JLightException(p + ": cannot read: " + e.getMessage(), e);
        }
    }

    private SpecialTokens buildSpecialTokens(ObjectNode tc, JsonNode gen, JsonNode config,
            Map<String, String> chatTemplates) {
        JsonNode g = gen == null ? JSON.createObjectNode() : gen;
        String bos = HfCompat.text(tc.get("bos_token"));
        String eos = HfCompat.text(tc.get("eos_token"));
        String pad = HfCompat.text(tc.get("pad_token"));
        String unk = HfCompat.text(tc.get("unk_token"));

        int bosId = idOf(bos);
        if (bosId < 0) {
            bosId = firstId(g.get("bos_token_id"));
        }
        if (bosId < 0) {
            bosId = firstId(config.get("bos_token_id"));
        }

        Set<Integer> eosIds = new LinkedHashSet<>();
        int eosId = idOf(eos);
        if (eosId >= 0) {
            eosIds.add(eosId);
        }
        JsonNode genEos = gen != null && gen.has("eos_token_id") ? gen.get("eos_token_id") : config.get("eos_token_id");
        eosIds.addAll(ids(genEos));
        if (eosId < 0 && !eosIds.isEmpty()) {
            eosId = eosIds.iterator().next();
        }

        int padId = idOf(pad);
        if (padId < 0) {
            padId = firstId(g.get("pad_token_id"));
        }
        if (padId < 0) {
            padId = firstId(config.get("pad_token_id"));
        }

        boolean addBos = bosId >= 0 && contains(prefixIds, bosId);
        boolean addEos = !eosIds.isEmpty() && Arrays.stream(suffixIds).anyMatch(eosIds::contains);

        String def = chatTemplates.get("default");
        if (def == null && !chatTemplates.isEmpty()) {
            Map.Entry<String, String> first = chatTemplates.entrySet().iterator().next();
            LOG.debug("{}: no chat template named \"default\"; using \"{}\"", folder, first.getKey());
            def = first.getValue();
        }
        return new SpecialTokens(bos, bosId, eos, eosId, eosIds, pad, padId, unk, idOf(unk), addBos, addEos, def,
                chatTemplates);
    }

    private int idOf(String token) {
        if (token == null) {
            return -1;
        }
        Integer id = tokenToId.get(token);
        return id == null ? -1 : id;
    }

    private static int firstId(JsonNode n) {
        List<Integer> l = ids(n);
        return l.isEmpty() ? -1 : l.get(0);
    }

    private static List<Integer> ids(JsonNode n) {
        List<Integer> out = new ArrayList<>();
        if (n == null || n.isNull()) {
            return out;
        }
        if (n.isArray()) {
            n.forEach(x -> {
                if (x.canConvertToInt()) {
                    out.add(x.intValue());
                }
            });
        } else if (n.canConvertToInt()) {
            out.add(n.intValue());
        }
        return out;
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }
}
