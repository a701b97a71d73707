package dev.jlight.core.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;

/** Where the generated expectations live, and how a render is compared with Python's. */
final class TemplateTestData {
    private TemplateTestData() {}

    static final ObjectMapper JSON = new ObjectMapper();

    /** scripts/jinja_cases.py pins strftime_now to 2024-07-26 14:05:09 (naive local time). */
    static final Clock FIXED_CLOCK = Clock.fixed(Instant.parse("2024-07-26T14:05:09Z"), ZoneOffset.UTC);

    /**
     * Whether JLight must raise the same exception kind with the same message as Python. True but
     * for Python's compile-time SyntaxError (its message names a line of Jinja's generated code) and
     * include/import, which JLight refuses at compile time as chat templates have no loader.
     */
    static boolean exact(String type, String message) {
        return type != null && !type.equals("SyntaxError") && (message == null || !message.contains("no loader"));
    }

    static void assertSameError(String what, String type, String message, TemplateException e) {
        if (exact(type, message)) {
            assertEquals(type + ": " + message, e.kind() + ": " + e.detail(), what + ": error");
        }
    }

    static Path repoRoot() {
        String prop = System.getProperty("jlight.repo.root");
        if (prop != null && Files.isDirectory(Path.of(prop, "testdata"))) {
            return Path.of(prop);
        }
        Path p = Path.of("").toAbsolutePath();
        while (p != null) {
            if (Files.isDirectory(p.resolve("testdata")) && Files.exists(p.resolve("pom.xml"))) {
                return p;
            }
            p = p.getParent();
        }
        throw new IllegalStateException("cannot find the repository root (testdata/) from " + Path.of("").toAbsolutePath());
    }

    static JsonNode read(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IllegalStateException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Renders and compares with Python's outcome: expected text, or an error of {@code errorType}
     * (with the same message for {@link #EXACT_ERRORS}).
     */
    static void check(String what, ChatTemplate template, java.util.Map<String, Object> context, JsonNode expected,
                      String errorType, String errorMessage) {
        if (expected != null && !expected.isNull()) {
            String actual;
            try {
                actual = template.render(context);
            } catch (TemplateException e) {
                fail(what + ": Python rendered " + JSON.valueToTree(expected.asText()) + " but JLight failed: " + e.getMessage(), e);
                return;
            }
            assertEquals(expected.asText(), actual, what);
            return;
        }
        TemplateException e = assertThrows(TemplateException.class, () -> template.render(context),
                what + ": Python raised " + errorType + ": " + errorMessage);
        assertSameError(what, errorType, errorMessage, e);
    }
}
