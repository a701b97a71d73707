package dev.jlight.core.template;

import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The globals a template sees: Jinja2's defaults ({@code range}, {@code dict}, {@code namespace},
 * {@code cycler}, {@code joiner}) and transformers' {@code raise_exception} and {@code strftime_now}.
 */
final class Builtins {
    private final Clock clock;

    Builtins(Clock clock) {
        this.clock = clock;
    }

    record Function(String name, Impl impl) implements PyCallable {
        interface Impl {
            Object call(Interpreter in, CallArgs a);
        }

        @Override
        public Object call(Interpreter in, List<Object> args, Map<String, Object> kwargs) {
            return impl.call(in, new CallArgs(name, args, kwargs));
        }

        @Override
        public String repr() {
            return "<function " + name + ">";
        }
    }

    void install(Map<String, Object> globals) {
        globals.put("range", new Function("range", Builtins::range));
        globals.put("dict", new Function("dict", (in, a) -> dict(a)));
        globals.put("namespace", new Function("namespace", (in, a) -> {
            Namespace ns = new Namespace();
            ns.attrs.putAll(dict(a));
            return ns;
        }));
        globals.put("cycler", new Function("cycler", (in, a) -> {
            a.check(Integer.MAX_VALUE);
            return new Cycler(a.pos, false);
        }));
        globals.put("joiner", new Function("joiner", (in, a) -> {
            a.check(1, "sep");
            return new Cycler(List.of(a.str(0, "sep", ", ")), true);
        }));
        globals.put("raise_exception", new Function("raise_exception", (in, a) -> {
            a.check(1, "message").min(1);
            throw new TemplateException(TemplateException.RAISED, Py.str(a.get(0, "message", null)));
        }));
        globals.put("strftime_now", new Function("strftime_now", (in, a) -> {
            a.check(1, "format").min(1);
            Object fmt = a.get(0, "format", null);
            if (!(fmt instanceof String s)) {
                throw Py.typeError("strftime() argument 1 must be str, not " + Py.typeName(fmt));
            }
            return Strftime.format(ZonedDateTime.now(clock), s);
        }));
    }

    private static Object range(Interpreter in, CallArgs a) {
        a.check(3).min(1);
        if (!a.kw.isEmpty()) {
            throw Py.typeError("range() takes no keyword arguments");
        }
        for (Object o : a.pos) {
            if (!Py.isInt(o)) {
                Py.checkDefined(o);
                throw Py.typeError("'" + Py.typeName(o) + "' object cannot be interpreted as an integer");
            }
        }
        long start = 0;
        long stop;
        long step = 1;
        if (a.size() == 1) {
            stop = Py.toLong(a.pos.get(0));
        } else {
            start = Py.toLong(a.pos.get(0));
            stop = Py.toLong(a.pos.get(1));
            if (a.size() == 3) {
                step = Py.toLong(a.pos.get(2));
            }
        }
        if (step == 0) {
            throw Py.valueError("range() arg 3 must not be zero");
        }
        return new PySeq.Range(start, stop, step);
    }

    /** Python's {@code dict(mapping_or_pairs, **kwargs)}. */
    static Map<Object, Object> dict(CallArgs a) {
        if (a.size() > 1) {
            throw Py.typeError("dict expected at most 1 argument, got " + a.size());
        }
        Map<Object, Object> out = new LinkedHashMap<>();
        if (a.size() == 1) {
            Object src = a.pos.get(0);
            if (src instanceof Map<?, ?> m) {
                out.putAll(m);
            } else if (src instanceof Namespace ns) {
                throw Py.typeError("'Namespace' object is not iterable");
            } else {
                for (Object pair : Py.iterate(src)) {
                    List<Object> kv = Py.iterate(pair);
                    if (kv.size() != 2) {
                        throw Py.valueError("dictionary update sequence element has length " + kv.size() + "; 2 is required");
                    }
                    Py.checkHashable(kv.get(0));
                    out.put(kv.get(0), kv.get(1));
                }
            }
        }
        out.putAll(a.kw);
        return out;
    }

    /** {@code cycler(...)} and {@code joiner(sep)}. */
    static final class Cycler implements PyCallable {
        private final List<Object> items;
        private final boolean joiner;
        private int pos;
        private boolean used;

        Cycler(List<Object> items, boolean joiner) {
            this.items = List.copyOf(items.stream().map(o -> o == null ? (Object) NullItem.NULL : o).toList());
            this.joiner = joiner;
        }

        private enum NullItem { NULL }

        private Object item(int i) {
            Object o = items.get(i);
            return o == NullItem.NULL ? null : o;
        }

        Object attribute(String name) {
            if (joiner) {
                return Methods.NOT_FOUND;
            }
            return switch (name) {
                case "current" -> items.isEmpty() ? Methods.NOT_FOUND : item(pos);
                case "next", "reset" -> new Function(name, (in, a) -> {
                    if (name.equals("reset")) {
                        pos = 0;
                        return null;
                    }
                    return next();
                });
                default -> Methods.NOT_FOUND;
            };
        }

        private Object next() {
            if (items.isEmpty()) {
                throw Py.typeError("cycler needs at least one item");
            }
            Object rv = item(pos);
            pos = (pos + 1) % items.size();
            return rv;
        }

        @Override
        public Object call(Interpreter in, List<Object> args, Map<String, Object> kwargs) {
            if (!joiner) {
                throw Py.typeError("'Cycler' object is not callable");
            }
            if (!used) {
                used = true;
                return "";
            }
            return item(0);
        }

        @Override
        public String repr() {
            return joiner ? "<jinja2.utils.Joiner object>" : "<jinja2.utils.Cycler object>";
        }
    }
}
