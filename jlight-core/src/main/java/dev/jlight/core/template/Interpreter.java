package dev.jlight.core.template;

import dev.jlight.core.template.Node.Expr;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Tree-walking evaluator with Jinja2's scoping, undefined and sandbox semantics. */
final class Interpreter {
    static final int MAX_RANGE = 100_000;

    private static final int NORMAL = 0;
    private static final int BREAK = 1;
    private static final int CONTINUE = 2;

    final Limits limits;
    final Builtins builtins;
    private int callDepth;

    /**
     * A variable scope; loop iterations, macro calls and with-blocks open a child. Most frames hold
     * a handful of names, so they live in small arrays; large ones (the root) move to a HashMap.
     */
    static final class Frame {
        private static final int LINEAR = 12;

        final Frame parent;
        private String[] names;
        private Object[] values;
        private int size;
        private Map<String, Object> map;

        Frame(Frame parent) {
            this.parent = parent;
        }

        void put(String name, Object value) {
            if (map != null) {
                map.put(name, value);
                return;
            }
            for (int i = 0; i < size; i++) {
                if (names[i].equals(name)) {
                    values[i] = value;
                    return;
                }
            }
            if (names == null) {
                names = new String[4];
                values = new Object[4];
            } else if (size == names.length) {
                if (size >= LINEAR) {
                    map = new HashMap<>();
                    for (int i = 0; i < size; i++) {
                        map.put(names[i], values[i]);
                    }
                    names = null;
                    values = null;
                    map.put(name, value);
                    return;
                }
                names = java.util.Arrays.copyOf(names, size * 2);
                values = java.util.Arrays.copyOf(values, size * 2);
            }
            names[size] = name;
            values[size++] = value;
        }

        void putAll(Map<String, Object> vars) {
            vars.forEach(this::put);
        }

        private static final Object ABSENT = new Object();

        private Object local(String name) {
            if (map != null) {
                Object v = map.get(name);
                return v != null || map.containsKey(name) ? v : ABSENT;
            }
            for (int i = 0; i < size; i++) {
                if (names[i].equals(name)) {
                    return values[i];
                }
            }
            return ABSENT;
        }

        Object lookup(String name) {
            for (Frame f = this; f != null; f = f.parent) {
                Object v = f.local(name);
                if (v != ABSENT) {
                    return v;
                }
            }
            return Undefined.variable(name);
        }
    }

    Interpreter(Limits limits, Builtins builtins) {
        this.limits = limits;
        this.builtins = builtins;
    }

    String render(List<Node> body, Map<String, Object> context) {
        Frame globals = new Frame(null);
        Map<String, Object> g = new HashMap<>();
        builtins.install(g);
        globals.putAll(g);
        Frame root = new Frame(globals);
        root.putAll(context);
        StringBuilder out = new StringBuilder();
        exec(body, root, out);
        return out.toString();
    }

    // ------------------------------------------------------------ statements

    private void append(StringBuilder out, String s) {
        out.append(s);
        limits.checkSize(out.length());
    }

    private int exec(List<Node> nodes, Frame f, StringBuilder out) {
        for (Node n : nodes) {
            int status;
            try {
                status = exec(n, f, out);
            } catch (TemplateException e) {
                throw e.at(n.line(), n.col());
            }
            if (status != NORMAL) {
                return status;
            }
        }
        return NORMAL;
    }

    private int exec(Node node, Frame f, StringBuilder out) {
        limits.step();
        switch (node) {
            case Node.Text t -> append(out, t.text());
            case Node.Output o -> append(out, Py.str(eval(o.expr(), f)));
            case Node.If n -> {
                for (int i = 0; i < n.tests().size(); i++) {
                    if (Py.truthy(eval(n.tests().get(i), f))) {
                        return exec(n.bodies().get(i), f, out);
                    }
                }
                return exec(n.orElse(), f, out);
            }
            case Node.For n -> {
                return execFor(n, eval(n.iter(), f), f, out, 0);
            }
            case Node.Set n -> assign(n.target(), eval(n.value(), f), f);
            case Node.SetBlock n -> {
                StringBuilder buf = new StringBuilder();
                exec(n.body(), f, buf);
                Object value = buf.toString();
                if (n.filter() != null) {
                    value = applyFilterChain(n.filter(), value, f);
                }
                assign(n.target(), value, f);
            }
            case Node.MacroDef n -> f.put(n.name(), new Macro(n, f, null));
            case Node.CallBlock n -> {
                Macro caller = new Macro(n.caller(), f, null);
                Object fn = eval(n.call().fn(), f);
                List<Object> args = new ArrayList<>();
                Map<String, Object> kwargs = new LinkedHashMap<>();
                evalArgs(n.call().args(), f, args, kwargs);
                kwargs.put("caller", caller);
                append(out, Py.str(callValue(fn, args, kwargs)));
            }
            case Node.FilterBlock n -> {
                StringBuilder buf = new StringBuilder();
                exec(n.body(), f, buf);
                append(out, Py.str(applyFilterChain(n.filter(), buf.toString(), f)));
            }
            case Node.With n -> {
                Frame inner = new Frame(f);
                List<Object> values = new ArrayList<>();
                for (Expr v : n.values()) {
                    values.add(eval(v, f));
                }
                for (int i = 0; i < n.targets().size(); i++) {
                    assign(n.targets().get(i), values.get(i), inner);
                }
                return exec(n.body(), inner, out);
            }
            case Node.Generation n -> {
                return exec(n.body(), f, out);
            }
            case Node.Break b -> {
                return BREAK;
            }
            case Node.Continue c -> {
                return CONTINUE;
            }
            case Expr e -> throw new IllegalStateException("expression as statement: " + e);
        }
        return NORMAL;
    }

    private int execFor(Node.For n, Object iterable, Frame f, StringBuilder out, int depth0) {
        List<Object> items = Py.iterate(iterable);
        if (n.filter() != null) {
            List<Object> kept = new ArrayList<>();
            for (Object item : items) {
                limits.step();
                Frame tf = new Frame(f);
                assign(n.target(), item, tf);
                if (Py.truthy(eval(n.filter(), tf))) {
                    kept.add(item);
                }
            }
            items = kept;
        } else {
            items = new ArrayList<>(items);
        }
        if (items.isEmpty()) {
            return exec(n.orElse(), new Frame(f), out);
        }
        LoopContext.Recurse recurse = n.recursive()
                ? (in, it, d) -> {
                    StringBuilder buf = new StringBuilder();
                    execFor(n, it, f, buf, d);
                    return buf.toString();
                }
                : null;
        LoopContext loop = new LoopContext(items, depth0, recurse);
        for (int i = 0; i < items.size(); i++) {
            limits.step();
            loop.index0 = i;
            Frame iter = new Frame(f);
            iter.put("loop", loop);
            assign(n.target(), items.get(i), iter);
            int status = exec(n.body(), iter, out);
            if (status == BREAK) {
                break;
            }
        }
        return NORMAL;
    }

    private void assign(Expr target, Object value, Frame f) {
        switch (target) {
            case Expr.Name n -> f.put(n.name(), value);
            case Expr.NsRef r -> {
                Object ns = f.lookup(r.name());
                if (!(ns instanceof Namespace namespace)) {
                    throw new TemplateException("TemplateRuntimeError", "cannot assign attribute on non-namespace object");
                }
                namespace.attrs.put(r.attr(), value);
            }
            case Expr.TupleLit t -> {
                List<Object> items = Py.iterate(value);
                int n = t.items().size();
                if (items.size() < n) {
                    throw Py.valueError("not enough values to unpack (expected " + n + ", got " + items.size() + ")");
                }
                if (items.size() > n) {
                    throw Py.valueError("too many values to unpack (expected " + n + ")");
                }
                for (int i = 0; i < n; i++) {
                    assign(t.items().get(i), items.get(i), f);
                }
            }
            default -> throw new TemplateException("TemplateSyntaxError", "can't assign to " + target);
        }
    }

    // ------------------------------------------------------------ macros

    Object callMacro(Macro m, List<Object> args, Map<String, Object> kwargs) {
        Node.MacroDef def = m.def;
        if (++callDepth > limits.maxCallDepth) {
            callDepth--;
            throw new TemplateException("RecursionError", "maximum recursion depth exceeded");
        }
        try {
            Frame mf = new Frame(m.closure);
            Map<String, Object> kw = new LinkedHashMap<>(kwargs);
            List<String> params = def.params();
            int firstDefault = params.size() - def.defaults().size();
            for (int i = 0; i < params.size(); i++) {
                String p = params.get(i);
                if (i < args.size()) {
                    mf.put(p, args.get(i));
                } else if (kw.containsKey(p)) {
                    mf.put(p, kw.remove(p));
                } else if (i >= firstDefault) {
                    mf.put(p, eval(def.defaults().get(i - firstDefault), mf));
                } else {
                    mf.put(p, Undefined.hint("parameter " + Py.repr(p) + " was not provided"));
                }
            }
            Object caller = kw.remove("caller");
            if (def.usesCaller()) {
                mf.put("caller", caller != null ? caller : Undefined.hint("No caller defined"));
            } else if (caller != null) {
                throw Py.typeError("macro " + Py.repr(def.name()) + " was invoked with two values for the special caller argument. This is most likely a bug.");
            }
            if (args.size() > params.size()) {
                if (!def.usesVarargs()) {
                    throw Py.typeError("macro " + Py.repr(def.name()) + " takes not more than " + params.size()
                            + " argument(s)");
                }
                mf.put("varargs", new PySeq.Tuple(args.subList(params.size(), args.size())));
            } else if (def.usesVarargs()) {
                mf.put("varargs", new PySeq.Tuple());
            }
            if (def.usesKwargs()) {
                mf.put("kwargs", new LinkedHashMap<Object, Object>(kw));
            } else if (!kw.isEmpty()) {
                throw Py.typeError("macro " + Py.repr(def.name()) + " takes no keyword argument "
                        + Py.repr(kw.keySet().iterator().next()));
            }
            StringBuilder buf = new StringBuilder();
            exec(def.body(), mf, buf);
            return buf.toString();
        } finally {
            callDepth--;
        }
    }

    // ------------------------------------------------------------ expressions

    Object eval(Expr e, Frame f) {
        limits.step();
        try {
            return evalInner(e, f);
        } catch (TemplateException ex) {
            throw ex.at(e.line(), e.col());
        }
    }

    private Object evalInner(Expr e, Frame f) {
        switch (e) {
            case Expr.Const c -> {
                return c.value();
            }
            case Expr.Name n -> {
                return f.lookup(n.name());
            }
            case Expr.Getattr g -> {
                return getattr(eval(g.obj(), f), g.attr());
            }
            case Expr.Getitem g -> {
                Object obj = eval(g.obj(), f);
                if (g.key() instanceof Expr.Slice s) {
                    return slice(obj, s, f);
                }
                return getitem(obj, eval(g.key(), f));
            }
            case Expr.ListLit l -> {
                List<Object> out = new ArrayList<>(l.items().size());
                for (Expr item : l.items()) {
                    out.add(eval(item, f));
                }
                return out;
            }
            case Expr.TupleLit t -> {
                List<Object> out = new ArrayList<>(t.items().size());
                for (Expr item : t.items()) {
                    out.add(eval(item, f));
                }
                return new PySeq.Tuple(out);
            }
            case Expr.DictLit d -> {
                Map<Object, Object> out = new LinkedHashMap<>();
                for (int i = 0; i < d.keys().size(); i++) {
                    Object k = eval(d.keys().get(i), f);
                    Py.checkHashable(k);
                    Object existing = Py.findKey(out, k);
                    out.put(existing == Py.NO_KEY ? k : existing, eval(d.values().get(i), f));
                }
                return out;
            }
            case Expr.Unary u -> {
                Object v = eval(u.operand(), f);
                return switch (u.op()) {
                    case "not" -> !Py.truthy(v);
                    case "neg" -> Py.neg(v);
                    default -> Py.pos(v);
                };
            }
            case Expr.Binary b -> {
                return binary(b, f);
            }
            case Expr.Concat c -> {
                StringBuilder sb = new StringBuilder();
                for (Expr part : c.parts()) {
                    sb.append(Py.str(eval(part, f)));
                    limits.checkSize(sb.length());
                }
                return sb.toString();
            }
            case Expr.Compare c -> {
                Object left = eval(c.first(), f);
                for (int i = 0; i < c.ops().size(); i++) {
                    Object right = eval(c.operands().get(i), f);
                    if (!compare(c.ops().get(i), left, right)) {
                        return false;
                    }
                    left = right;
                }
                return true;
            }
            case Expr.CondExpr c -> {
                if (Py.truthy(eval(c.test(), f))) {
                    return eval(c.then(), f);
                }
                if (c.orElse() == null) {
                    return Undefined.hint("the inline if-expression on line " + c.line()
                            + " evaluated to false and no else section was defined.");
                }
                return eval(c.orElse(), f);
            }
            case Expr.Call c -> {
                Object fn = eval(c.fn(), f);
                List<Object> args = new ArrayList<>();
                Map<String, Object> kwargs = new LinkedHashMap<>();
                evalArgs(c.args(), f, args, kwargs);
                return callValue(fn, args, kwargs);
            }
            case Expr.Filter flt -> {
                return applyFilter(flt, eval(flt.value(), f), f);
            }
            case Expr.Test t -> {
                Object value = eval(t.value(), f);
                List<Object> args = new ArrayList<>();
                Map<String, Object> kwargs = new LinkedHashMap<>();
                evalArgs(t.args(), f, args, kwargs);
                return Tests.apply(this, t.name(), value, args, kwargs);
            }
            case Expr.Slice s -> throw new TemplateException("TemplateSyntaxError", "slice outside of subscript");
            case Expr.NsRef r -> {
                return getattr(f.lookup(r.name()), r.attr());
            }
        }
    }

    private Object binary(Expr.Binary b, Frame f) {
        switch (b.op()) {
            case "and": {
                Object l = eval(b.left(), f);
                return Py.truthy(l) ? eval(b.right(), f) : l;
            }
            case "or": {
                Object l = eval(b.left(), f);
                return Py.truthy(l) ? l : eval(b.right(), f);
            }
            default:
                break;
        }
        Object l = eval(b.left(), f);
        Object r = eval(b.right(), f);
        return switch (b.op()) {
            case "add" -> Py.add(l, r, limits);
            case "sub" -> Py.sub(l, r);
            case "mul" -> Py.mul(l, r, limits);
            case "div" -> Py.div(l, r);
            case "floordiv" -> Py.floorDiv(l, r);
            case "mod" -> mod(l, r);
            case "pow" -> Py.pow(l, r);
            default -> throw new IllegalStateException(b.op());
        };
    }

    /** Python's {@code l % r}: string formatting or modulo. */
    Object mod(Object l, Object r) {
        if (l instanceof String s) {
            return PyFormat.percent(this, s, r);
        }
        if (l instanceof Markup m) {
            return new Markup(PyFormat.percent(this, m.s, escapeArgs(r)));
        }
        return Py.mod(l, r);
    }

    /** markupsafe escapes the arguments of {@code Markup % args}. */
    private static Object escapeArgs(Object r) {
        if (r instanceof PySeq.Tuple t) {
            List<Object> out = new ArrayList<>();
            for (Object o : t) {
                out.add(escapeArg(o));
            }
            return new PySeq.Tuple(out);
        }
        if (r instanceof Map<?, ?> m) {
            Map<Object, Object> out = new LinkedHashMap<>();
            m.forEach((k, v) -> out.put(k, escapeArg(v)));
            return out;
        }
        return escapeArg(r);
    }

    private static Object escapeArg(Object o) {
        if (o instanceof String || o instanceof Markup || o instanceof List || o instanceof Map || o == null) {
            return Markup.escape(o).s;
        }
        return o;
    }

    static boolean compare(String op, Object l, Object r) {
        return switch (op) {
            case "eq" -> Py.eq(l, r);
            case "ne" -> !Py.eq(l, r);
            case "in" -> Py.contains(r, l);
            case "notin" -> !Py.contains(r, l);
            default -> Py.compare(op, l, r);
        };
    }

    void evalArgs(Expr.Args a, Frame f, List<Object> args, Map<String, Object> kwargs) {
        for (Expr e : a.positional()) {
            args.add(eval(e, f));
        }
        for (int i = 0; i < a.names().size(); i++) {
            kwargs.put(a.names().get(i), eval(a.values().get(i), f));
        }
        if (a.dynArgs() != null) {
            args.addAll(Py.iterate(eval(a.dynArgs(), f)));
        }
        if (a.dynKwargs() != null) {
            Object m = eval(a.dynKwargs(), f);
            if (!(m instanceof Map<?, ?> mm)) {
                throw Py.typeError("argument after ** must be a mapping, not " + Py.typeName(m));
            }
            for (Map.Entry<?, ?> en : mm.entrySet()) {
                if (!(en.getKey() instanceof String k)) {
                    throw Py.typeError("keywords must be strings");
                }
                kwargs.put(k, en.getValue());
            }
        }
    }

    Object callValue(Object fn, List<Object> args, Map<String, Object> kwargs) {
        if (fn instanceof Undefined u) {
            throw u.error();
        }
        if (fn instanceof PyCallable c) {
            return c.call(this, args, kwargs);
        }
        throw Py.typeError("'" + Py.typeName(fn) + "' object is not callable");
    }

    private Object applyFilter(Expr.Filter flt, Object value, Frame f) {
        List<Object> args = new ArrayList<>();
        Map<String, Object> kwargs = new LinkedHashMap<>();
        evalArgs(flt.args(), f, args, kwargs);
        return Filters.apply(this, flt.name(), value, args, kwargs);
    }

    /** Applies a filter chain whose innermost value is null (block filters) to {@code value}. */
    private Object applyFilterChain(Expr chain, Object value, Frame f) {
        Expr.Filter flt = (Expr.Filter) chain;
        Object base = flt.value() == null ? value : applyFilterChain(flt.value(), value, f);
        return applyFilter(flt, base, f);
    }

    // ------------------------------------------------------------ attribute and item access

    /** The sandbox's {@code getattr}: Python attribute first, then item. */
    Object getattr(Object obj, String attr) {
        if (obj instanceof Undefined u) {
            throw u.error();
        }
        Object a = Methods.attribute(obj, attr);
        if (a != Methods.NOT_FOUND) {
            return a;
        }
        if (obj instanceof Map<?, ?> m) {
            Object k = Py.findKey(m, attr);
            if (k != Py.NO_KEY) {
                return m.get(k);
            }
        }
        return Undefined.member(obj, attr);
    }

    /** The sandbox's {@code getitem}: item first, then attribute for string keys. */
    Object getitem(Object obj, Object key) {
        if (obj instanceof Markup m) {
            Object r = getitem(m.s, key);
            return r instanceof String s ? new Markup(s) : r;
        }
        key = Py.unwrap(key);
        if (obj instanceof Undefined u) {
            throw u.error();
        }
        if (obj instanceof Map<?, ?> m) {
            Object k = Py.findKey(m, key);
            if (k != Py.NO_KEY) {
                return m.get(k);
            }
        } else if (obj instanceof List<?> l && Py.isInt(key) && !(obj instanceof PySeq.DictView)) {
            long i = Py.toLong(key);
            if (i < 0) {
                i += l.size();
            }
            if (i >= 0 && i < l.size()) {
                return l.get((int) i);
            }
        } else if (obj instanceof String s && Py.isInt(key)) {
            long i = Py.toLong(key);
            int len = Py.cpLen(s);
            if (i < 0) {
                i += len;
            }
            if (i >= 0 && i < len) {
                int off = s.offsetByCodePoints(0, (int) i);
                return new String(Character.toChars(s.codePointAt(off)));
            }
        }
        if (key instanceof String attr) {
            Object a = Methods.attribute(obj, attr);
            if (a != Methods.NOT_FOUND) {
                return a;
            }
        }
        return Undefined.member(obj, key);
    }

    private Object slice(Object obj, Expr.Slice s, Frame f) {
        Object start = s.start() == null ? null : eval(s.start(), f);
        Object stop = s.stop() == null ? null : eval(s.stop(), f);
        Object step = s.step() == null ? null : eval(s.step(), f);
        boolean markup = obj instanceof Markup;
        obj = Py.unwrap(obj);
        if (obj instanceof Undefined u) {
            throw u.error();
        }
        for (Object o : new Object[] {start, stop, step}) {
            if (o instanceof Undefined u) {
                throw u.error();
            }
            if (o != null && !Py.isInt(o)) {
                throw Py.typeError("slice indices must be integers or None or have an __index__ method");
            }
        }
        if (obj instanceof String str) {
            if (!Py.hasSurrogates(str)) {
                int[] idx = sliceIndexes(str.length(), start, stop, step);
                StringBuilder sb = new StringBuilder();
                for (int i = idx[0]; idx[2] > 0 ? i < idx[1] : i > idx[1]; i += idx[2]) {
                    sb.append(str.charAt(i));
                }
                return markup ? new Markup(sb.toString()) : sb.toString();
            }
            int[] cps = Py.codePoints(str);
            int[] idx = sliceIndexes(cps.length, start, stop, step);
            StringBuilder sb = new StringBuilder();
            for (int i = idx[0]; idx[2] > 0 ? i < idx[1] : i > idx[1]; i += idx[2]) {
                sb.appendCodePoint(cps[i]);
            }
            return markup ? new Markup(sb.toString()) : sb.toString();
        }
        if (obj instanceof PySeq.Range r) {
            int[] idx = sliceIndexes(r.size(), start, stop, step);
            return new PySeq.Range(r.start + idx[0] * r.step, r.start + idx[1] * r.step, r.step * idx[2]);
        }
        if (obj instanceof List<?> l && !(obj instanceof PySeq.DictView)) {
            int[] idx = sliceIndexes(l.size(), start, stop, step);
            List<Object> out = new ArrayList<>();
            for (int i = idx[0]; idx[2] > 0 ? i < idx[1] : i > idx[1]; i += idx[2]) {
                out.add(l.get(i));
            }
            return Py.isList(obj) ? out : new PySeq.Tuple(out);
        }
        // Jinja compiles slices to plain Python subscripts, bypassing the sandbox's getitem
        if (obj instanceof Map) {
            throw Py.typeError("unhashable type: 'slice'");
        }
        throw Py.typeError("'" + Py.typeName(obj) + "' object is not subscriptable");
    }

    /** Python's {@code slice.indices(len)}: start, stop, step. */
    static int[] sliceIndexes(int len, Object startO, Object stopO, Object stepO) {
        long step = stepO == null ? 1 : Py.toLong(stepO);
        if (step == 0) {
            throw Py.valueError("slice step cannot be zero");
        }
        long start;
        long stop;
        if (step > 0) {
            start = startO == null ? 0 : clampIndex(Py.toLong(startO), len, 0, len);
            stop = stopO == null ? len : clampIndex(Py.toLong(stopO), len, 0, len);
        } else {
            start = startO == null ? len - 1 : clampIndex(Py.toLong(startO), len, -1, len - 1);
            stop = stopO == null ? -1 : clampIndex(Py.toLong(stopO), len, -1, len - 1);
        }
        return new int[] {(int) start, (int) stop, (int) Math.max(Integer.MIN_VALUE + 1, Math.min(Integer.MAX_VALUE, step))};
    }

    private static long clampIndex(long i, int len, long lo, long hi) {
        if (i < 0) {
            i += len;
            if (i < 0) {
                return lo;
            }
        }
        return Math.min(i, hi);
    }
}
