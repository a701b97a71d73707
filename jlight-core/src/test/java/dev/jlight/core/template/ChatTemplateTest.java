package dev.jlight.core.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jlight.core.JLightException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** The public API, the render budgets, and errors; Jinja2 conformance is in JinjaCasesTest. */
class ChatTemplateTest {

    private static String render(String source, Map<String, ?> ctx) {
        return ChatTemplate.compile(source).render(ctx);
    }

    private static JsonNode json(String text) throws Exception {
        return TemplateTestData.JSON.readTree(text);
    }

    @Test
    void rendersJacksonInputLikePython() throws Exception {
        JsonNode messages = json("[{\"role\":\"user\",\"content\":\"hi\",\"n\":1,\"x\":1.0,\"ok\":true,\"none\":null}]");
        String out = render("{{ messages[0] }}|{{ messages|tojson }}", Map.of("messages", messages));
        assertEquals("{'role': 'user', 'content': 'hi', 'n': 1, 'x': 1.0, 'ok': True, 'none': None}"
                + "|[{\"role\": \"user\", \"content\": \"hi\", \"n\": 1, \"x\": 1.0, \"ok\": true, \"none\": null}]", out);
    }

    @Test
    void rendersPlainJavaValues() {
        Map<String, Object> msg = new LinkedHashMap<>();
        msg.put("role", "user");
        msg.put("count", 3);
        msg.put("ratio", 0.5f);
        msg.put("tags", new String[] {"a", "b"});
        assertEquals("user 3 0.5 ['a', 'b'] 4", render("{{ m.role }} {{ m.count }} {{ m.ratio }} {{ m.tags }} {{ m.count + 1 }}",
                Map.of("m", msg)));
    }

    @Test
    void contextIsNotModified() {
        List<Object> list = new ArrayList<>(List.of(1, 2));
        render("{% set x = l + [3] %}{{ x }}", Map.of("l", list));
        assertEquals(List.of(1, 2), list);
    }

    @Test
    void syntaxErrorsCarryLineAndColumn() {
        TemplateException e = assertThrows(TemplateException.class,
                () -> ChatTemplate.compile("line one\n{% if x %}\n  {{ 1 + }}\n{% endif %}"));
        assertEquals("TemplateSyntaxError", e.kind());
        assertEquals(3, e.line());
        assertTrue(e.column() > 0);
        assertTrue(e.getMessage().contains("line 3"), e.getMessage());
        assertTrue(e instanceof JLightException);
    }

    @Test
    void unclosedBlockNamesTheBlock() {
        TemplateException e = assertThrows(TemplateException.class, () -> ChatTemplate.compile("{% for x in y %}{% if x %}"));
        assertEquals("Unexpected end of template. Jinja was looking for the following tags: 'elif' or 'else' or 'endif'."
                + " The innermost block that needs to be closed is 'if'.", e.detail());
    }

    @Test
    void runtimeErrorsCarryThePosition() {
        ChatTemplate t = ChatTemplate.compile("ok\n{{ messages[0].content.strip() }}");
        TemplateException e = assertThrows(TemplateException.class, () -> t.render(Map.of("messages", List.of(Map.of()))));
        assertEquals("UndefinedError", e.kind());
        assertEquals("'dict object' has no attribute 'content'", e.detail());
        assertEquals(2, e.line());
    }

    @Test
    void raiseExceptionMessageIsExact() {
        ChatTemplate t = ChatTemplate.compile("{% if messages|length > 1 %}{{ raise_exception('Only one message: ' ~ messages|length) }}{% endif %}");
        TemplateException e = assertThrows(TemplateException.class, () -> t.render(Map.of("messages", List.of(1, 2))));
        assertTrue(e.raisedByTemplate());
        assertEquals("Only one message: 2", e.getMessage());
        assertEquals("", t.render(Map.of("messages", List.of(1))));
    }

    @Test
    void stepBudgetStopsRunawayLoops() {
        ChatTemplate t = ChatTemplate.compile("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}");
        TemplateException e = assertTimeoutPreemptively(Duration.ofSeconds(20),
                () -> assertThrows(TemplateException.class, () -> t.withLimits(200_000, 1 << 20, 50).render(Map.of())));
        assertEquals("LimitExceeded", e.kind());
    }

    @Test
    void defaultStepBudgetIsEnforced() {
        ChatTemplate t = ChatTemplate.compile("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}");
        TemplateException e = assertTimeoutPreemptively(Duration.ofSeconds(30),
                () -> assertThrows(TemplateException.class, () -> t.render(Map.of())));
        assertEquals("LimitExceeded", e.kind());
    }

    @Test
    void outputBudgetStopsHugeOutput() {
        ChatTemplate t = ChatTemplate.compile("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}");
        TemplateException e = assertThrows(TemplateException.class, () -> t.render(Map.of()));
        assertEquals("LimitExceeded", e.kind());
        TemplateException big = assertThrows(TemplateException.class, () -> render("{{ 'x' * 1000000000000 }}", Map.of()));
        assertEquals("LimitExceeded", big.kind());
        TemplateException doubling = assertThrows(TemplateException.class,
                () -> render("{% set ns = namespace(s='xx') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", Map.of()));
        assertEquals("LimitExceeded", doubling.kind());
    }

    @Test
    void macroRecursionIsBounded() {
        TemplateException e = assertThrows(TemplateException.class,
                () -> render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", Map.of()));
        assertEquals("RecursionError", e.kind());
    }

    @Test
    void deeplyNestedSourceFailsCleanly() {
        String parens = "{{ " + "(".repeat(5000) + "1" + ")".repeat(5000) + " }}";
        assertThrows(TemplateException.class, () -> ChatTemplate.compile(parens));
        String ifs = "{% if true %}".repeat(3000) + "x" + "{% endif %}".repeat(3000);
        assertThrows(TemplateException.class, () -> ChatTemplate.compile(ifs));
        String nested = "{{ " + "[".repeat(100) + "]".repeat(100) + " }}";
        assertEquals("[".repeat(100) + "]".repeat(100), render(nested, Map.of()));
    }

    @Test
    void rangeIsBoundedLikeTheSandbox() {
        TemplateException e = assertThrows(TemplateException.class, () -> render("{{ range(100001)|length }}", Map.of()));
        assertEquals("OverflowError", e.kind());
        assertEquals("100000", render("{{ range(100000)|length }}", Map.of()));
    }

    @Test
    void strftimeNowUsesTheClockAndItsZone() {
        Clock clock = Clock.fixed(Instant.parse("2025-01-05T23:30:00Z"), ZoneId.of("Asia/Tokyo"));
        ChatTemplate t = ChatTemplate.compile("{{ strftime_now('%Y-%m-%d %H:%M %A %j %p %I %b %B %a %y') }}").withClock(clock);
        assertEquals("2025-01-06 08:30 Monday 006 AM 08 Jan January Mon 25", t.render(Map.of()));
    }

    @Test
    void compiledTemplatesRenderConcurrently() throws Exception {
        ChatTemplate t = ChatTemplate.compile("{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}"
                + "{{ m }}{% endfor %}={{ ns.n }}");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<String>> results = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                int n = i % 7;
                results.add(pool.submit(() -> t.render(Map.of("messages", java.util.Collections.nCopies(n, "a")))));
            }
            for (int i = 0; i < 64; i++) {
                int n = i % 7;
                assertEquals("a".repeat(n) + "=" + n, results.get(i).get());
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void tokenizerConfigSelectsTheTemplateAndTokens() throws Exception {
        JsonNode config = json("""
                {"chat_template": [{"name": "tool_use", "template": "TOOLS"},
                                   {"name": "default", "template": "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}{{ unk_token is defined }}"}],
                 "bos_token": {"__type": "AddedToken", "content": "<s>"}, "eos_token": "</s>", "unk_token": null,
                 "additional_special_tokens": ["<a>", {"content": "<b>"}]}
                """);
        TokenizerChatTemplate tpl = TokenizerChatTemplate.fromTokenizerConfig(config, null);
        assertEquals(Map.of("bos_token", "<s>", "eos_token", "</s>", "additional_special_tokens", List.of("<a>", "<b>")),
                tpl.specialTokens());
        assertEquals("<s>hi</s>False", tpl.apply(json("[{\"role\":\"user\",\"content\":\"hi\"}]"), null, null, true, Map.of()));
        assertEquals("TOOLS", TokenizerChatTemplate.fromTokenizerConfig(config, "tool_use").apply(List.of(), null, null, false, null));
        assertThrows(TemplateException.class, () -> TokenizerChatTemplate.fromTokenizerConfig(json("{}"), null));
    }

    @Test
    void modelDirPrefersChatTemplateJinja(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"chat_template\": \"old\", \"eos_token\": \"</s>\"}");
        assertEquals("old", TokenizerChatTemplate.fromModelDir(dir).apply(List.of(), null, null, false, null));
        java.nio.file.Files.writeString(dir.resolve("chat_template.jinja"), "new{{ eos_token }}\n");
        assertEquals("new</s>", TokenizerChatTemplate.fromModelDir(dir).apply(List.of(), null, null, false, null));
    }

    @Test
    void contextMatchesTransformers() {
        TokenizerChatTemplate tpl = new TokenizerChatTemplate(
                ChatTemplate.compile("{{ tools is none }} {{ documents is none }} {{ add_generation_prompt }} {{ enable_thinking }}"),
                Map.of());
        assertEquals("True True False False", tpl.apply(List.of(), null, null, false, Map.of("enable_thinking", false)));
    }

    @Test
    void undefinedBehavesLikeJinjaDefault() {
        assertEquals("[]", render("[{{ missing }}]", Map.of()));
        assertFalse(Boolean.parseBoolean(render("{{ missing is defined }}", Map.of())));
        assertThrows(TemplateException.class, () -> render("{{ missing.attr }}", Map.of()));
    }
}
