package dev.jlight.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Replays files of HF results against {@link Tokenizer}. Two formats:
 *
 * <ul>
 *   <li>{@link #replay}: a list of items (bare, or under "items") of {@code {text, ids
 *       (add_special_tokens=True), ids_no_special, decoded}}, optionally {@code decoded_skip}
 *       (skip_special_tokens=True). Which decode produced "decoded" is told by a top-level boolean
 *       {@code decode_skip_special_tokens}; without it, either is accepted as long as one of them
 *       matches every item. (hf-reference-*.json.)
 *   <li>{@link #replayDeviceGolden}: scripts/make_golden.py's {@code testdata/golden/tokenizers/<name>.json}.
 * </ul>
 */
final class GoldenReplay {

    private static final ObjectMapper JSON = new ObjectMapper();

    private GoldenReplay() {}

    static JsonNode read(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<JsonNode> items(JsonNode root) {
        JsonNode items = root.isArray() ? root : root.path("items");
        List<JsonNode> out = new ArrayList<>();
        items.forEach(out::add);
        return out;
    }

    static int[] ints(JsonNode arr) {
        int[] a = new int[arr.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = arr.get(i).intValue();
        }
        return a;
    }

    /** Checks every item; the message names the file and the text. */
    static void replay(Tokenizer tok, JsonNode root, String label) {
        List<JsonNode> items = items(root);
        assertTrue(!items.isEmpty(), label + ": no items");
        JsonNode mode = root.isObject() ? root.get("decode_skip_special_tokens") : null;
        boolean decodedMatchesKeep = true;
        boolean decodedMatchesSkip = true;
        List<String> failures = new ArrayList<>();
        for (JsonNode item : items) {
            String text = item.path("text").asText();
            String what = label + " text " + quote(text);
            int[] ids = ints(item.path("ids"));
            int[] idsNs = ints(item.path("ids_no_special"));
            try {
                assertArrayEquals(ids, tok.encode(text, true), what + " ids (add_special_tokens=True)");
                assertArrayEquals(idsNs, tok.encode(text, false), what + " ids_no_special");
                if (item.has("decoded_skip")) {
                    assertEquals(item.get("decoded_skip").asText(), tok.decode(ids, true), what + " decoded_skip");
                }
            } catch (AssertionError e) {
                failures.add(e.getMessage());
                continue;
            }
            if (item.has("decoded")) {
                String expected = item.get("decoded").asText();
                if (mode != null) {
                    String got = tok.decode(ids, mode.asBoolean());
                    if (!expected.equals(got)) {
                        failures.add(what + " decoded: expected " + quote(expected) + " got " + quote(got));
                    }
                } else {
                    decodedMatchesKeep &= expected.equals(tok.decode(ids, false));
                    decodedMatchesSkip &= expected.equals(tok.decode(ids, true));
                }
            }
        }
        if (mode == null && !decodedMatchesKeep && !decodedMatchesSkip) {
            failures.add(label + ": \"decoded\" matches neither decode(ids, false) nor decode(ids, true) on every item");
        }
        if (!failures.isEmpty()) {
            throw new AssertionError(failures.size() + " of " + items.size() + " items differ from HF:\n  "
                    + String.join("\n  ", failures.subList(0, Math.min(failures.size(), 15))));
        }
    }

    /** Whether root is make_golden.py's format (a "reference" description and a "whole" item). */
    static boolean isDeviceGoldenFormat(JsonNode root) {
        return root.isObject() && root.has("reference") && root.has("items");
    }

    /**
     * make_golden.py's format: per item (and "whole", the corpus as one text) {@code ids},
     * {@code ids_no_special} and {@code decoded} = decode(ids_no_special, skip_special_tokens=False)
     * of tokenizer.json in the tokenizers library, with the post-processor of Llama-class tokenizers
     * rebuilt from add_bos_token/add_eos_token (transformers 4); and {@code transformers_auto}
     * {ids, ids_no_special, decoded}: transformers' AutoTokenizer where it differs. JLight is
     * expected to give the tokenizers-library results, except where it rebuilds a SentencePiece
     * Llama tokenizer as transformers 5 does: there the text's ids and decode come from
     * transformers_auto, the BOS/EOS around them from the reference.
     */
    static void replayDeviceGolden(Tokenizer tok, JsonNode root, String label) {
        List<JsonNode> items = new ArrayList<>(items(root));
        if (root.has("whole") && root.get("whole").isObject()) {
            items.add(root.get("whole"));
        }
        assertTrue(!items.isEmpty(), label + ": no items");
        List<String> failures = new ArrayList<>();
        for (JsonNode item : items) {
            String text = item.path("text").asText();
            String what = label + " text " + quote(text.length() > 80 ? text.substring(0, 80) + "..." : text);
            int[] ids = ints(item.path("ids"));
            int[] idsNs = ints(item.path("ids_no_special"));
            String decoded = item.path("decoded").asText();
            JsonNode auto = item.get("transformers_auto");
            if (tok.isLlamaSentencePiece() && auto != null && auto.isObject()) {
                int at = indexOf(ids, idsNs);
                if (at < 0) {
                    failures.add(what + ": the golden's ids do not contain its ids_no_special");
                    continue;
                }
                int[] autoNs = ints(auto.path("ids_no_special"));
                int[] merged = new int[at + autoNs.length + ids.length - at - idsNs.length];
                System.arraycopy(ids, 0, merged, 0, at);
                System.arraycopy(autoNs, 0, merged, at, autoNs.length);
                System.arraycopy(ids, at + idsNs.length, merged, at + autoNs.length, ids.length - at - idsNs.length);
                ids = merged;
                idsNs = autoNs;
                decoded = auto.path("decoded").asText();
            }
            try {
                assertArrayEquals(ids, tok.encode(text, true), what + " ids (add_special_tokens=True)");
                assertArrayEquals(idsNs, tok.encode(text, false), what + " ids_no_special");
                assertEquals(decoded, tok.decode(idsNs, false), what + " decoded");
            } catch (AssertionError e) {
                failures.add(e.getMessage());
            }
        }
        if (!failures.isEmpty()) {
            throw new AssertionError(failures.size() + " of " + items.size() + " items differ from the golden:\n  "
                    + String.join("\n  ", failures.subList(0, Math.min(failures.size(), 15))));
        }
    }

    /** Where needle starts in haystack (the first place), or -1. */
    private static int indexOf(int[] haystack, int[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        s.codePoints().forEach(c -> {
            if (c == '\n') {
                sb.append("\\n");
            } else if (c == '\r') {
                sb.append("\\r");
            } else if (c == '\t') {
                sb.append("\\t");
            } else if (c < 0x20 || c == 0x2581) {
                sb.append(String.format("\\u%04x", c));
            } else {
                sb.appendCodePoint(c);
            }
        });
        return sb.append('"').toString();
    }
}
