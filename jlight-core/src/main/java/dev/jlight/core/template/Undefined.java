package dev.jlight.core.template;

/**
 * Jinja2's default {@code Undefined}: renders as "", is falsy, iterates as empty, and raises
 * {@code UndefinedError} (or the recorded exception kind) on any other use.
 */
final class Undefined {
    private static final Object MISSING = new Object();

    private final String hint;
    private final Object obj;
    private final Object name;
    private final String kind;

    private Undefined(String hint, Object obj, Object name, String kind) {
        this.hint = hint;
        this.obj = obj;
        this.name = name;
        this.kind = kind;
    }

    /** An undefined variable: {@code 'name' is undefined}. */
    static Undefined variable(String name) {
        return new Undefined(null, MISSING, name, "UndefinedError");
    }

    /** A missing attribute or item of {@code obj}. */
    static Undefined member(Object obj, Object name) {
        return new Undefined(null, obj, name, "UndefinedError");
    }

    static Undefined hint(String hint) {
        return new Undefined(hint, MISSING, null, "UndefinedError");
    }

    /** An attribute the sandbox refuses (e.g. {@code list.append}). */
    static Undefined unsafe(Object obj, String attr) {
        return new Undefined("access to attribute " + Py.repr(attr) + " of " + Py.repr(Py.typeName(obj))
                + " object is unsafe.", obj, attr, "SecurityError");
    }

    String message() {
        if (hint != null) {
            return hint;
        }
        if (obj == MISSING) {
            return Py.repr(name) + " is undefined";
        }
        if (!(name instanceof String)) {
            return Py.objectTypeRepr(obj) + " has no element " + Py.repr(name);
        }
        return Py.repr(Py.objectTypeRepr(obj)) + " has no attribute " + Py.repr(name);
    }

    TemplateException error() {
        return new TemplateException(kind, message());
    }

    @Override
    public String toString() {
        return "";
    }
}
