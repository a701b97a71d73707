package dev.jlight.core.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Replays renders made by real transformers {@code apply_chat_template} on the device:
 * {@code testdata/golden/templates/<name>.json} =
 * {@code {"bos_token", "eos_token", "items": [{"messages", "tools", "add_generation_prompt",
 * "extra_kwargs", "expected" | "error"}]}} (optionally "now", the local time strftime_now saw), with
 * the template read from
 * {@code .assets/tokenizers/<name>/tokenizer_config.json}. Skipped when either is absent.
 */
class GoldenTemplatesTest {

    @TestFactory
    List<DynamicNode> transformersGoldens() throws IOException {
        Path root = TemplateTestData.repoRoot();
        Path dir = root.resolve("testdata/golden/templates");
        Assumptions.assumeTrue(Files.isDirectory(dir), dir + " is missing: no transformers goldens to replay yet");
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
        Assumptions.assumeFalse(files.isEmpty(), dir + " has no golden files");
        List<DynamicNode> out = new ArrayList<>();
        for (Path file : files) {
            String name = file.getFileName().toString().replaceFirst("\\.json$", "");
            out.add(DynamicContainer.dynamicContainer(name, tests(root, name, TemplateTestData.read(file))));
        }
        return out;
    }

    private static List<DynamicNode> tests(Path root, String name, JsonNode golden) {
        List<DynamicNode> tests = new ArrayList<>();
        JsonNode items = golden.path("items");
        for (int i = 0; i < items.size(); i++) {
            JsonNode item = items.get(i);
            String label = "#" + i + (item.path("add_generation_prompt").asBoolean(false) ? " +gen" : "");
            tests.add(DynamicTest.dynamicTest(label, () -> run(root, name, golden, item, name + " " + label)));
        }
        return tests;
    }

    private static void run(Path root, String name, JsonNode golden, JsonNode item, String what) {
        Path config = root.resolve(".assets/tokenizers/" + name + "/tokenizer_config.json");
        Assumptions.assumeTrue(Files.exists(config), config + " is missing: fetch the tokenizer assets to replay " + name);
        TokenizerChatTemplate tpl = TokenizerChatTemplate.fromTokenizerConfig(config);
        Map<String, Object> extra = new HashMap<>();
        item.path("extra_kwargs").properties().forEach(e -> extra.put(e.getKey(), Json.fromJson(e.getValue())));
        Map<String, Object> ctx = tpl.context(Json.fromJson(item.get("messages")), Json.fromJson(item.get("tools")),
                Json.fromJson(item.get("documents")), item.path("add_generation_prompt").asBoolean(false), extra);
        for (String key : new String[] {"bos_token", "eos_token"}) {
            if (golden.path(key).isTextual()) {
                ctx.put(key, golden.get(key).textValue());
            }
        }
        // strftime_now: the instant the goldens were made at, when recorded ("now": local ISO time)
        java.time.Clock clock = golden.path("now").isTextual()
                ? java.time.Clock.fixed(java.time.LocalDateTime.parse(golden.get("now").asText())
                        .toInstant(java.time.ZoneOffset.UTC), java.time.ZoneOffset.UTC)
                : java.time.Clock.systemDefaultZone();
        ChatTemplate template = tpl.template().withClock(clock);
        if (item.has("expected")) {
            assertEquals(item.get("expected").asText(), template.render(ctx), what);
            return;
        }
        TemplateException e = assertThrows(TemplateException.class, () -> template.render(ctx),
                what + ": transformers raised " + item.get("error"));
        JsonNode err = item.get("error");
        String message = err.isObject() ? err.path("message").asText() : err.asText();
        String type = err.isObject() ? err.path("type").asText(null) : item.path("error_type").asText(null);
        if (type != null) {
            TemplateTestData.assertSameError(what, type, message, e);
        } else if (e.raisedByTemplate()) {
            assertEquals(message, e.detail(), what + ": raise_exception message");
        }
    }
}
