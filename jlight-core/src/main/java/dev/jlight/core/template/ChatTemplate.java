package dev.jlight.core.template;

import dev.jlight.core.template.Node.Expr;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A compiled Jinja2 chat template that renders like HF transformers' {@code apply_chat_template}:
 * Jinja2's {@code ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)} with the
 * loopcontrols extension, the {@code generation} tag, transformers' {@code tojson},
 * {@code raise_exception} and {@code strftime_now}, and Python's value semantics.
 *
 * <p>Thread-safe: compile once, render concurrently. Each render is bounded by a step budget, an
 * output/value size budget and a macro depth limit, so a hostile template fails with a
 * {@link TemplateException} instead of hanging the server.
 */
public final class ChatTemplate {
    /** Default budget of evaluation steps per render. */
    public static final long DEFAULT_MAX_STEPS = 10_000_000L;
    /** Default bound on the output, and on any string or list built while rendering, in chars/items. */
    public static final long DEFAULT_MAX_OUTPUT_CHARS = 10L * 1024 * 1024;
    /** Default bound on nested macro calls. */
    public static final int DEFAULT_MAX_CALL_DEPTH = 200;

    private final List<Node> body;
    private final Clock clock;
    private final long maxSteps;
    private final long maxOutputChars;
    private final int maxCallDepth;

    private ChatTemplate(List<Node> body, Clock clock, long maxSteps, long maxOutputChars, int maxCallDepth) {
        this.body = body;
        this.clock = clock;
        this.maxSteps = maxSteps;
        this.maxOutputChars = maxOutputChars;
        this.maxCallDepth = maxCallDepth;
    }

    /**
     * Parses a template.
     *
     * @throws TemplateException (kind {@code TemplateSyntaxError} or {@code TemplateAssertionError})
     *     with line and column
     */
    public static ChatTemplate compile(String source) {
        if (source == null) {
            throw new TemplateException("TemplateSyntaxError", "chat template is missing");
        }
        List<Node> body;
        try {
            body = Parser.parse(source);
        } catch (StackOverflowError e) {
            throw new TemplateException("TemplateSyntaxError", "template nesting too deep");
        }
        validate(body, false);
        return new ChatTemplate(body, Clock.systemDefaultZone(), DEFAULT_MAX_STEPS, DEFAULT_MAX_OUTPUT_CHARS,
                DEFAULT_MAX_CALL_DEPTH);
    }

    /** The same template with {@code strftime_now} reading this clock (and its zone). */
    public ChatTemplate withClock(Clock clock) {
        return new ChatTemplate(body, clock, maxSteps, maxOutputChars, maxCallDepth);
    }

    /** The same template with other render budgets. */
    public ChatTemplate withLimits(long maxSteps, long maxOutputChars, int maxCallDepth) {
        return new ChatTemplate(body, clock, maxSteps, maxOutputChars, maxCallDepth);
    }

    /**
     * Renders with the given variables. Values may be Jackson {@code JsonNode}s or plain Java values
     * (String, numbers, Boolean, null, Map, Collection, arrays); they are copied, never modified.
     *
     * @throws TemplateException on any template error; {@link TemplateException#raisedByTemplate()}
     *     tells a template's own {@code raise_exception(msg)}, whose message is {@code msg} exactly
     */
    public String render(Map<String, ?> context) {
        Map<String, Object> vars = new HashMap<>();
        if (context != null) {
            for (Map.Entry<String, ?> e : context.entrySet()) {
                vars.put(e.getKey(), Json.normalize(e.getValue(), 0));
            }
        }
        Interpreter in = new Interpreter(new Limits(maxSteps, maxOutputChars, maxCallDepth), new Builtins(clock));
        try {
            return in.render(body, vars);
        } catch (StackOverflowError e) {
            throw new TemplateException("RecursionError", "template recursion too deep");
        }
    }

    /**
     * Unknown filters and tests fail at compile time, as in Jinja2, except in "soft" frames (inside
     * an if statement or an inline if, and no loop, macro or block in between) where Jinja2 fails
     * only if the branch runs.
     */
    private static void validate(Object node, boolean soft) {
        if (node instanceof List<?> l) {
            for (Object o : l) {
                validate(o, soft);
            }
            return;
        }
        switch (node) {
            case Node.If n -> {
                validate(n.tests(), true);
                validate(n.bodies(), true);
                validate(n.orElse(), true);
                return;
            }
            case Expr.CondExpr n -> {
                validate(n.test(), true);
                validate(n.then(), true);
                validate(n.orElse(), true);
                return;
            }
            case Node.For n -> {
                validate(n.iter(), soft);
                validate(n.filter(), false);
                validate(n.body(), false);
                validate(n.orElse(), false);
                return;
            }
            case Node.MacroDef n -> {
                validate(n.defaults(), soft);
                validate(n.body(), false);
                return;
            }
            case Node.CallBlock n -> {
                validate(n.call(), soft);
                validate(n.caller(), false);
                return;
            }
            case Node.FilterBlock n -> {
                validate(n.filter(), soft);
                validate(n.body(), false);
                return;
            }
            case Node.SetBlock n -> {
                validate(n.filter(), soft);
                validate(n.body(), false);
                return;
            }
            case Node.With n -> {
                validate(n.values(), soft);
                validate(n.body(), false);
                return;
            }
            case null, default -> { }
        }
        if (soft && (node instanceof Expr.Filter || node instanceof Expr.Test)) {
            // checked when evaluated
        } else if (node instanceof Expr.Filter f && !Filters.NAMES.contains(f.name())) {
            throw new TemplateException("TemplateAssertionError", "No filter named " + Py.repr(f.name()) + ".",
                    f.line(), f.col());
        } else if (node instanceof Expr.Test t && !Tests.NAMES.contains(t.name())) {
            throw new TemplateException("TemplateAssertionError", "No test named " + Py.repr(t.name()) + ".",
                    t.line(), t.col());
        }
        if (node instanceof Expr.Args a) {
            validate(a.positional(), soft);
            validate(a.values(), soft);
            validate(a.dynArgs(), soft);
            validate(a.dynKwargs(), soft);
            return;
        }
        if (node instanceof Record r) {
            for (var comp : r.getClass().getRecordComponents()) {
                try {
                    Object v = comp.getAccessor().invoke(r);
                    if (v instanceof Node || v instanceof List || v instanceof Expr.Args) {
                        validate(v, soft);
                    }
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
    }
}
