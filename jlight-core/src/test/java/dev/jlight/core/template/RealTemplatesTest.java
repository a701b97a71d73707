package dev.jlight.core.template;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Real chat templates (tokenizer packages under .assets/, and testdata/templates/extra/) rendered on
 * several conversations, compared with Jinja2's renders in testdata/templates/real_templates.json.
 */
class RealTemplatesTest {

    @TestFactory
    List<DynamicNode> realTemplates() {
        Path root = TemplateTestData.repoRoot();
        JsonNode data = TemplateTestData.read(root.resolve("testdata/templates/real_templates.json"));
        List<DynamicNode> out = new ArrayList<>();
        for (JsonNode t : data.get("templates")) {
            String name = t.get("name").asText();
            String source = t.get("source").asText();
            out.add(DynamicContainer.dynamicContainer(name, items(root, name, source, t)));
        }
        return out;
    }

    private static List<DynamicNode> items(Path root, String name, String source, JsonNode t) {
        List<DynamicNode> tests = new ArrayList<>();
        int i = 0;
        for (JsonNode item : t.get("items")) {
            String label = "#" + i++ + " " + item.get("conversation").asText()
                    + (item.get("add_generation_prompt").asBoolean() ? " +gen" : "")
                    + (item.get("extra_kwargs").isEmpty() ? "" : " " + item.get("extra_kwargs"));
            tests.add(DynamicTest.dynamicTest(label, () -> {
                TokenizerChatTemplate tpl;
                try {
                    tpl = load(root, name, source, t);
                } catch (TemplateException e) {
                    // Jinja2 fails at compile time too (an unknown filter, a syntax error)
                    if (!item.has("error")) {
                        throw new AssertionError(name + ": JLight cannot compile a template Jinja2 renders: " + e.getMessage(), e);
                    }
                    TemplateTestData.assertSameError(name + " " + label, item.get("error_type").asText(),
                            item.get("error").asText(), e);
                    return;
                }
                Map<String, Object> extra = new HashMap<>();
                item.get("extra_kwargs").properties().forEach(e -> extra.put(e.getKey(), Json.fromJson(e.getValue())));
                Map<String, Object> ctx = tpl.context(Json.fromJson(item.get("messages")), Json.fromJson(item.get("tools")),
                        null, item.get("add_generation_prompt").asBoolean(), extra);
                TemplateTestData.check(name + " " + label, tpl.template(), ctx, item.get("expected"),
                        item.path("error_type").asText(null), item.path("error").asText(null));
            }));
        }
        return tests;
    }

    private static final Map<String, TokenizerChatTemplate> CACHE = new HashMap<>();

    private static synchronized TokenizerChatTemplate load(Path root, String name, String source, JsonNode t) {
        TokenizerChatTemplate cached = CACHE.get(name);
        if (cached != null) {
            return cached;
        }
        TokenizerChatTemplate tpl;
        if (source.equals("assets")) {
            Path config = root.resolve(".assets/tokenizers/" + name + "/tokenizer_config.json");
            Assumptions.assumeTrue(Files.exists(config), config + " is missing: fetch the tokenizer assets to run the "
                    + name + " template tests");
            tpl = TokenizerChatTemplate.fromTokenizerConfig(config);
            assertEquals(Json.fromJson(t.get("special_tokens")), new java.util.LinkedHashMap<Object, Object>(tpl.specialTokens()),
                    name + ": special tokens");
        } else {
            String text;
            try {
                text = Files.readString(root.resolve("testdata/templates").resolve(source));
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
            Map<String, Object> tokens = new HashMap<>();
            t.get("special_tokens").properties().forEach(e -> tokens.put(e.getKey(), e.getValue().asText()));
            tpl = new TokenizerChatTemplate(ChatTemplate.compile(text), tokens);
        }
        tpl = new TokenizerChatTemplate(tpl.template().withClock(TemplateTestData.FIXED_CLOCK), tpl.specialTokens());
        CACHE.put(name, tpl);
        return tpl;
    }
}
