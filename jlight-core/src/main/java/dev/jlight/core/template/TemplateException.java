package dev.jlight.core.template;

import dev.jlight.core.JLightException;

/**
 * An error while compiling or rendering a chat template.
 *
 * <p>{@link #kind()} names the Python/Jinja2 exception the same template raises under HF
 * transformers ({@code TemplateSyntaxError}, {@code UndefinedError}, {@code TypeError}, ...);
 * {@code TemplateError} is what {@code raise_exception(msg)} raises, and then {@link #getMessage()}
 * is exactly {@code msg}, so it can be shown to API users as is. Other errors carry the template
 * line and column in their message.
 */
public final class TemplateException extends JLightException {
    /** The kind raised by the template's own {@code raise_exception(msg)}. */
    public static final String RAISED = "TemplateError";

    private final String kind;
    private final String detail;
    private int line;
    private int column;

    public TemplateException(String kind, String detail) {
        this(kind, detail, 0, 0, null);
    }

    public TemplateException(String kind, String detail, int line, int column) {
        this(kind, detail, line, column, null);
    }

    TemplateException(String kind, String detail, int line, int column, Throwable cause) {
        super(detail, cause);
        this.kind = kind;
        this.detail = detail;
        this.line = line;
        this.column = column;
    }

    /** The Python exception class name this error corresponds to. */
    public String kind() {
        return kind;
    }

    /** The message without position, as Python would print it. */
    public String detail() {
        return detail;
    }

    /** 1-based template line, 0 when unknown. */
    public int line() {
        return line;
    }

    /** 1-based template column, 0 when unknown. */
    public int column() {
        return column;
    }

    /** True for errors raised by the template itself through {@code raise_exception}. */
    public boolean raisedByTemplate() {
        return RAISED.equals(kind);
    }

    /** Sets the position if none is known yet (the innermost node wins). */
    TemplateException at(int line, int column) {
        if (this.line == 0 && line > 0) {
            this.line = line;
            this.column = column;
        }
        return this;
    }

    @Override
    public String getMessage() {
        if (raisedByTemplate() || line == 0) {
            return raisedByTemplate() ? detail : "chat template " + kind + ": " + detail;
        }
        return "chat template " + kind + " at line " + line + ", column " + column + ": " + detail;
    }
}
