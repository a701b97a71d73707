package dev.jlight.core.template;

import java.util.List;
import java.util.Map;
import java.util.Set;

/** Positional and keyword arguments of a builtin, filter, test or method call. */
final class CallArgs {
    final String fname;
    final List<Object> pos;
    final Map<String, Object> kw;

    CallArgs(String fname, List<Object> pos, Map<String, Object> kw) {
        this.fname = fname;
        this.pos = pos;
        this.kw = kw;
    }

    int size() {
        return pos.size();
    }

    boolean has(int i, String name) {
        return i < pos.size() || (name != null && kw.containsKey(name));
    }

    /** Argument i (or keyword {@code name}), or {@code dflt} when absent. */
    Object get(int i, String name, Object dflt) {
        if (i < pos.size()) {
            if (name != null && kw.containsKey(name)) {
                throw Py.typeError(fname + "() got multiple values for argument '" + name + "'");
            }
            return pos.get(i);
        }
        if (name != null && kw.containsKey(name)) {
            return kw.get(name);
        }
        return dflt;
    }

    Object required(int i, String name) {
        if (!has(i, name)) {
            throw Py.typeError(fname + "() missing required argument '" + name + "' (pos " + (i + 1) + ")");
        }
        return get(i, name, null);
    }

    /** Checks there are at most {@code max} positional arguments and only the given keywords. */
    CallArgs check(int max, String... keywords) {
        if (pos.size() > max) {
            throw Py.typeError(fname + "() takes at most " + max + " argument" + (max == 1 ? "" : "s") + " ("
                    + pos.size() + " given)");
        }
        if (!kw.isEmpty()) {
            Set<String> allowed = Set.of(keywords);
            for (String k : kw.keySet()) {
                if (!allowed.contains(k)) {
                    throw Py.typeError(fname + "() got an unexpected keyword argument '" + k + "'");
                }
            }
        }
        return this;
    }

    CallArgs min(int min) {
        if (pos.size() + kw.size() < min) {
            throw Py.typeError(fname + "() takes at least " + min + " argument" + (min == 1 ? "" : "s") + " ("
                    + (pos.size() + kw.size()) + " given)");
        }
        return this;
    }

    String str(int i, String name, String dflt) {
        Object v = Py.unwrap(get(i, name, dflt));
        if (v == null && dflt == null) {
            return null;
        }
        if (!(v instanceof String s)) {
            throw Py.typeError(fname + "() argument must be str, not " + Py.typeName(v));
        }
        return s;
    }

    /** A str argument where None means "absent". */
    String strOrNone(int i, String name) {
        Object v = Py.unwrap(get(i, name, null));
        if (v == null) {
            return null;
        }
        if (!(v instanceof String s)) {
            throw Py.typeError(fname + "() argument must be str or None, not " + Py.typeName(v));
        }
        return s;
    }

    long integer(int i, String name, long dflt) {
        Object v = get(i, name, null);
        if (v == null && !has(i, name)) {
            return dflt;
        }
        if (!Py.isInt(v)) {
            throw Py.typeError("'" + Py.typeName(v) + "' object cannot be interpreted as an integer");
        }
        return Py.toLong(v);
    }

    boolean bool(int i, String name, boolean dflt) {
        Object v = get(i, name, null);
        if (!has(i, name)) {
            return dflt;
        }
        return Py.truthy(v);
    }
}
