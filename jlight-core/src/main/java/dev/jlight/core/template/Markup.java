package dev.jlight.core.template;

/**
 * markupsafe's {@code Markup}, as returned by the {@code safe} and {@code escape} filters: a string
 * that escapes plain strings concatenated to it with {@code +} or formatted into it with {@code %}.
 * Elsewhere it behaves as the plain string it holds.
 */
final class Markup {
    final String s;

    Markup(String s) {
        this.s = s;
    }

    /** markupsafe's {@code escape}: Markup stays as is, anything else is str()-ed and escaped. */
    static Markup escape(Object v) {
        if (v instanceof Markup m) {
            return m;
        }
        return new Markup(Filters.escape(Py.str(v)));
    }

    @Override
    public String toString() {
        return s;
    }
}
