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
 * Replays a file of HF transformers' results against {@link Tokenizer}. The format is the one of
 * {@code testdata/golden/tokenizers/<name>.json}: a list of items (bare, or under "items") of
 * {@code {text, ids (add_special_tokens=True), ids_no_special, decoded}}, optionally {@code
 * decoded_skip} (skip_special_tokens=True). Which decode produced "decoded" is told by a top-level
 * boolean {@code decode_skip_special_tokens}; without it, either is accepted as long as one of them
 * matches every item.
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
