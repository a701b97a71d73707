package dev.jlight.core.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** Replays testdata/templates/jinja_cases.json, rendered by real Jinja2 with transformers' settings. */
class JinjaCasesTest {

    @TestFactory
    List<DynamicTest> jinja2Cases() {
        JsonNode root = TemplateTestData.read(TemplateTestData.repoRoot().resolve("testdata/templates/jinja_cases.json"));
        JsonNode cases = root.get("cases");
        assertTrue(cases.size() >= 200, "expected 200+ cases, got " + cases.size());
        List<DynamicTest> tests = new ArrayList<>();
        int i = 0;
        for (JsonNode c : cases) {
            int index = i++;
            String name = "#" + index + " " + c.get("name").asText().replace('\n', ' ');
            tests.add(DynamicTest.dynamicTest(name, () -> run(name, c)));
        }
        return tests;
    }

    private static void run(String name, JsonNode c) {
        String source = c.get("template").asText();
        JsonNode err = c.get("expected_error");
        ChatTemplate template;
        try {
            template = ChatTemplate.compile(source).withClock(TemplateTestData.FIXED_CLOCK);
        } catch (TemplateException e) {
            if (err == null) {
                throw new AssertionError(name + ": JLight failed to compile what Jinja2 renders: " + e.getMessage(), e);
            }
            TemplateTestData.assertSameError(name, err.get("type").asText(), err.get("message").asText(), e);
            return;
        }
        Map<String, Object> ctx = new HashMap<>();
        c.get("context").properties().forEach(e -> ctx.put(e.getKey(), Json.fromJson(e.getValue())));
        TemplateTestData.check(name, template, ctx, c.get("expected"),
                err == null ? null : err.get("type").asText(), err == null ? null : err.get("message").asText());
    }

    @org.junit.jupiter.api.Test
    void raiseExceptionMessageIsPreservedExactly() {
        ChatTemplate t = ChatTemplate.compile("{{ raise_exception('Roles must alternate!') }}");
        TemplateException e = assertThrows(TemplateException.class, () -> t.render(Map.of()));
        assertTrue(e.raisedByTemplate());
        assertEquals("Roles must alternate!", e.getMessage());
        assertTrue(e instanceof dev.jlight.core.JLightException);
    }
}
