package dev.jlight.core.template;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Jinja2's builtin filters, with transformers' {@code tojson} in place of Jinja's. */
final class Filters {
    private Filters() {}

    static final Set<String> NAMES = Set.of("abs", "attr", "batch", "capitalize", "center", "count", "d", "default",
            "dictsort", "e", "escape", "filesizeformat", "first", "float", "forceescape", "format", "groupby", "indent",
            "int", "join", "last", "length", "list", "lower", "items", "map", "min", "max", "pprint", "random",
            "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "slice", "sort",
            "string", "striptags", "sum", "title", "trim", "truncate", "unique", "upper", "urlencode", "urlize",
            "wordcount", "wordwrap", "xmlattr", "tojson");

    private static final Pattern WORD = Pattern.compile("\\w+", Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern WORD_BEGINNING = Pattern.compile("([-" + Lexer.WS.substring(1, Lexer.WS.length() - 1) + "({\\[<]+)");

    /** Jinja's {@code soft_str}: str() of anything, "" for undefined. */
    private static String softStr(Object v) {
        return Py.str(v);
    }

    static Object apply(Interpreter in, String name, Object v, List<Object> args, Map<String, Object> kwargs) {
        switch (name) {
            case "safe":
                new CallArgs(name, args, kwargs).check(0);
                return v instanceof Markup ? v : new Markup(softStr(v));
            case "e":
            case "escape":
                new CallArgs(name, args, kwargs).check(0);
                return Markup.escape(v);
            case "forceescape":
                new CallArgs(name, args, kwargs).check(0);
                return new Markup(escape(softStr(v)));
            case "string":
                new CallArgs(name, args, kwargs).check(0);
                return v instanceof Markup ? v : softStr(v);
            case "upper", "lower", "capitalize", "trim", "center", "indent":
                if (v instanceof Markup m) {
                    // markupsafe's Markup keeps these results Markup
                    Object r = apply(in, name, m.s, args, kwargs);
                    return r instanceof String s ? new Markup(s) : r;
                }
                break;
            case "format":
                if (v instanceof Markup m) {
                    Object r = apply(in, name, m.s, escapeAll(args), escapeAll(kwargs));
                    return new Markup((String) r);
                }
                break;
            default:
                break;
        }
        v = Py.unwrap(v);
        if (!args.isEmpty() || !kwargs.isEmpty()) {
            List<Object> plain = new ArrayList<>(args.size());
            for (Object o : args) {
                plain.add(Py.unwrap(o));
            }
            Map<String, Object> plainKw = new LinkedHashMap<>();
            kwargs.forEach((k, o) -> plainKw.put(k, Py.unwrap(o)));
            args = plain;
            kwargs = plainKw;
        }
        CallArgs a = new CallArgs(name, args, kwargs);
        switch (name) {
            case "abs": {
                a.check(0);
                if (v instanceof Double d) {
                    return Math.abs(d);
                }
                if (Py.isInt(v)) {
                    long l = Py.toLong(v);
                    if (l == Long.MIN_VALUE) {
                        throw Py.overflow();
                    }
                    return Math.abs(l);
                }
                throw Py.typeError("bad operand type for abs(): '" + Py.typeName(v) + "'");
            }
            case "attr": {
                a.check(1, "name");
                Object attrName = a.required(0, "name");
                if (v instanceof Undefined u) {
                    throw u.error();
                }
                if (!(attrName instanceof String s)) {
                    throw Py.typeError("attribute name must be string, not '" + Py.typeName(attrName) + "'");
                }
                Object r = Methods.attribute(v, s);
                return r == Methods.NOT_FOUND ? Undefined.member(v, s) : r;
            }
            case "batch": {
                a.check(2, "linecount", "fill_with");
                long count = a.integer(0, "linecount", 0);
                Object fill = a.get(1, "fill_with", null);
                Object src = v;
                return generator(() -> batch(src, count, fill));
            }
            case "capitalize":
                a.check(0);
                return Methods.capitalize(softStr(v));
            case "center": {
                a.check(1, "width");
                return Methods.pad(softStr(v), a.integer(0, "width", 80), " ", "center", in.limits);
            }
            case "count":
            case "length":
                a.check(0);
                return Py.len(v);
            case "d":
            case "default": {
                a.check(2, "default_value", "boolean");
                Object dflt = a.get(0, "default_value", "");
                boolean bool = a.bool(1, "boolean", false);
                if (v instanceof Undefined || (bool && !Py.truthy(v))) {
                    return dflt;
                }
                return v;
            }
            case "dictsort": {
                a.check(3, "case_sensitive", "by", "reverse");
                boolean cs = a.bool(0, "case_sensitive", false);
                Object by = a.get(1, "by", "key");
                boolean reverse = a.bool(2, "reverse", false);
                int pos;
                if ("key".equals(by)) {
                    pos = 0;
                } else if ("value".equals(by)) {
                    pos = 1;
                } else {
                    throw new TemplateException("FilterArgumentError", "You can only sort by either \"key\" or \"value\"");
                }
                if (!(v instanceof Map<?, ?> m)) {
                    Py.checkDefined(v);
                    throw new TemplateException("AttributeError", "'" + Py.typeName(v) + "' object has no attribute 'items'");
                }
                List<Object> items = new ArrayList<>(Methods.items(m));
                sortBy(items, it -> ignoreCase(((List<?>) it).get(pos), cs), reverse);
                return items;
            }
            case "filesizeformat": {
                a.check(1, "binary");
                return fileSize(floatValue(v), a.bool(0, "binary", false));
            }
            case "first": {
                a.check(0);
                if (v instanceof PyIter it) {
                    boolean[] has = new boolean[1];
                    Object item = it.next(has);
                    return has[0] ? item : Undefined.hint("No first item, sequence was empty.");
                }
                if (v instanceof Map<?, ?> m) {
                    return m.isEmpty() ? Undefined.hint("No first item, sequence was empty.") : m.keySet().iterator().next();
                }
                List<Object> items = Py.iterate(v);
                return items.isEmpty() ? Undefined.hint("No first item, sequence was empty.") : items.get(0);
            }
            case "last": {
                a.check(0);
                if (!(v instanceof List || v instanceof String || v instanceof Map || v instanceof Undefined)
                        || v instanceof PySeq.DictView) {
                    throw Py.typeError("'" + Py.typeName(v) + "' object is not reversible");
                }
                List<Object> items = Py.iterate(v);
                return items.isEmpty() ? Undefined.hint("No last item, sequence was empty.") : items.get(items.size() - 1);
            }
            case "float": {
                a.check(1, "default");
                Object dflt = a.get(0, "default", 0.0);
                Double d = toFloat(v);
                return d == null ? dflt : d;
            }
            case "int": {
                a.check(2, "default", "base");
                Object dflt = a.get(0, "default", 0L);
                long base = a.integer(1, "base", 10);
                return toInt(v, dflt, base);
            }
            case "format": {
                if (!args.isEmpty() && !kwargs.isEmpty()) {
                    throw new TemplateException("FilterArgumentError",
                            "can't handle positional and keyword arguments at the same time");
                }
                Object fargs = !kwargs.isEmpty() ? new LinkedHashMap<Object, Object>(kwargs) : new PySeq.Tuple(args);
                return PyFormat.percent(in, softStr(v), fargs);
            }
            case "groupby": {
                a.check(3, "attribute", "default", "case_sensitive");
                Object attribute = a.required(0, "attribute");
                Object dflt = a.get(1, "default", null);
                boolean cs = a.bool(2, "case_sensitive", false);
                Function<Object, Object> key = attrGetter(in, attribute, dflt);
                List<Object> items = new ArrayList<>(Py.iterate(v));
                sortBy(items, it -> ignoreCase(key.apply(it), cs), false);
                List<Object> out = new ArrayList<>();
                Object currentKey = null;
                List<Object> group = null;
                for (Object item : items) {
                    Object k = ignoreCase(key.apply(item), cs);
                    if (group == null || !Py.eq(k, currentKey)) {
                        group = new ArrayList<>();
                        out.add(group);
                        currentKey = k;
                    }
                    group.add(item);
                }
                List<Object> tuples = new ArrayList<>();
                for (Object g : out) {
                    List<?> gl = (List<?>) g;
                    tuples.add(new PySeq.Tuple(List.of("grouper", "list"), key.apply(gl.get(0)), gl));
                }
                return tuples;
            }
            case "indent": {
                a.check(3, "width", "first", "blank");
                Object width = a.get(0, "width", 4L);
                boolean first = a.bool(1, "first", false);
                boolean blank = a.bool(2, "blank", false);
                String indention;
                if (width instanceof String s) {
                    indention = s;
                } else {
                    long w = Py.toLong(width);
                    in.limits.checkSize(w);
                    indention = " ".repeat((int) Math.max(0, w));
                }
                if (!(v instanceof String)) {
                    Py.checkDefined(v);
                    if (Py.isList(v)) {
                        throw new TemplateException("AttributeError", "'list' object has no attribute 'splitlines'");
                    }
                    if (v instanceof PySeq.Tuple) {
                        throw Py.typeError("can only concatenate tuple (not \"str\") to tuple");
                    }
                    throw Py.typeError("unsupported operand type(s) for +=: '" + Py.typeName(v) + "' and 'str'");
                }
                String s = v + "\n";
                List<Object> lines = Methods.splitlines(s, false);
                StringBuilder rv = new StringBuilder();
                if (blank) {
                    for (int i = 0; i < lines.size(); i++) {
                        if (i > 0) {
                            rv.append('\n').append(indention);
                        }
                        rv.append((String) lines.get(i));
                    }
                } else {
                    rv.append((String) lines.get(0));
                    for (int i = 1; i < lines.size(); i++) {
                        String line = (String) lines.get(i);
                        rv.append('\n');
                        if (!line.isEmpty()) {
                            rv.append(indention);
                        }
                        rv.append(line);
                        in.limits.checkSize(rv.length());
                    }
                }
                return first ? indention + rv : rv.toString();
            }
            case "join": {
                a.check(2, "d", "attribute");
                String d = softStr(a.get(0, "d", ""));
                Object attribute = a.get(1, "attribute", null);
                List<Object> items = Py.iterate(v);
                Function<Object, Object> getter = attribute == null ? null : attrGetter(in, attribute, null);
                StringBuilder sb = new StringBuilder();
                for (int i = 0; i < items.size(); i++) {
                    if (i > 0) {
                        sb.append(d);
                    }
                    sb.append(Py.str(getter == null ? items.get(i) : getter.apply(items.get(i))));
                    in.limits.checkSize(sb.length());
                }
                return sb.toString();
            }
            case "list":
                a.check(0);
                return new ArrayList<>(Py.iterate(v));
            case "lower":
                a.check(0);
                return Methods.lower(softStr(v));
            case "upper":
                a.check(0);
                return Methods.upper(softStr(v));
            case "items": {
                a.check(0);
                Object src = v;
                return generator(() -> {
                    if (src instanceof Undefined) {
                        return new ArrayList<>();
                    }
                    if (!(src instanceof Map<?, ?> m)) {
                        throw Py.typeError("Can only get item pairs from a mapping.");
                    }
                    return new ArrayList<Object>(Methods.items(m));
                });
            }
            case "map":
                return map(in, v, a);
            case "min":
            case "max": {
                a.check(2, "case_sensitive", "attribute");
                boolean cs = a.bool(0, "case_sensitive", false);
                Object attribute = a.get(1, "attribute", null);
                List<Object> items = Py.iterate(v);
                if (items.isEmpty()) {
                    return Undefined.hint("No aggregated item, sequence was empty.");
                }
                Function<Object, Object> getter = attribute == null ? x -> x : attrGetter(in, attribute, null);
                Object best = items.get(0);
                Object bestKey = ignoreCase(getter.apply(best), cs);
                for (int i = 1; i < items.size(); i++) {
                    Object k = ignoreCase(getter.apply(items.get(i)), cs);
                    int c = Py.sortCompare(k, bestKey);
                    if (name.equals("min") ? c < 0 : c > 0) {
                        best = items.get(i);
                        bestKey = k;
                    }
                }
                return best;
            }
            case "reject":
            case "select":
                return selectOrReject(in, v, a, name.equals("select"), false);
            case "rejectattr":
            case "selectattr":
                return selectOrReject(in, v, a, name.equals("selectattr"), true);
            case "replace": {
                a.check(3, "old", "new", "count");
                Object old = a.required(0, "old");
                Object rep = a.required(1, "new");
                Object count = a.get(2, "count", null);
                return Methods.replace(softStr(v), softStr(old), softStr(rep), count == null ? -1 : Py.toLong(count), in.limits);
            }
            case "reverse": {
                a.check(0);
                if (v instanceof String s) {
                    return new StringBuilder(s).reverse().toString();
                }
                if (!Py.isIterable(v)) {
                    throw new TemplateException("FilterArgumentError", "argument must be iterable");
                }
                List<Object> items = new ArrayList<>(Py.iterate(v));
                Collections.reverse(items);
                String type = Py.isList(v) ? "list_reverseiterator" : v instanceof PySeq.Range ? "range_iterator"
                        : v instanceof Map ? "dict_reversekeyiterator" : v instanceof PySeq.DictView dv
                        ? "dict_reverse" + dv.kind.replaceAll("s$", "") + "iterator" : "reversed";
                if (v instanceof PyIter) {
                    return items;
                }
                return new PyIter(type, () -> items);
            }
            case "round": {
                a.check(2, "precision", "method");
                long precision = a.integer(0, "precision", 0);
                Object method = a.get(1, "method", "common");
                if (!"common".equals(method) && !"ceil".equals(method) && !"floor".equals(method)) {
                    throw new TemplateException("FilterArgumentError", "method must be common, ceil or floor");
                }
                if (!Py.isNumber(v)) {
                    throw Py.typeError("type " + Py.typeName(v) + " doesn't define __round__ method");
                }
                if ("common".equals(method)) {
                    if (Py.isInt(v)) {
                        if (precision >= 0) {
                            return Py.toLong(v);
                        }
                        BigDecimal r = BigDecimal.valueOf(Py.toLong(v)).setScale((int) precision, RoundingMode.HALF_EVEN);
                        return r.longValue();
                    }
                    double d = Py.toDouble(v);
                    if (!Double.isFinite(d)) {
                        return d;
                    }
                    double r = new BigDecimal(d).setScale((int) precision, RoundingMode.HALF_EVEN).doubleValue();
                    return r == 0 ? Math.copySign(0.0, d) : r;
                }
                double scale = Math.pow(10, precision);
                double x = Py.toDouble(v) * scale;
                double r = "ceil".equals(method) ? Math.ceil(x) : Math.floor(x);
                return r / scale;
            }
            case "safe":
                a.check(0);
                return softStr(v);
            case "slice": {
                a.check(2, "slices", "fill_with");
                long slices = a.integer(0, "slices", 1);
                Object fill = a.get(1, "fill_with", null);
                Object src = v;
                return generator(() -> slice(src, slices, fill));
            }
            case "sort": {
                a.check(3, "reverse", "case_sensitive", "attribute");
                boolean reverse = a.bool(0, "reverse", false);
                boolean cs = a.bool(1, "case_sensitive", false);
                Object attribute = a.get(2, "attribute", null);
                List<Object> items = new ArrayList<>(Py.iterate(v));
                if (attribute == null) {
                    sortBy(items, x -> ignoreCase(x, cs), reverse);
                } else {
                    List<Function<Object, Object>> getters = new ArrayList<>();
                    if (attribute instanceof String s) {
                        for (String part : s.split(",", -1)) {
                            getters.add(attrGetter(in, part, null));
                        }
                    } else {
                        getters.add(attrGetter(in, attribute, null));
                    }
                    sortBy(items, x -> {
                        List<Object> key = new ArrayList<>();
                        for (Function<Object, Object> g : getters) {
                            key.add(ignoreCase(g.apply(x), cs));
                        }
                        return key;
                    }, reverse);
                }
                return items;
            }
            case "string":
                a.check(0);
                return softStr(v);
            case "striptags": {
                a.check(0);
                String s = softStr(v).replaceAll("(?s)<!--.*?-->", "").replaceAll("(?s)<.*?>", "");
                s = String.join(" ", Methods.split(s, null, -1).stream().map(Object::toString).toList());
                return unescape(s);
            }
            case "sum": {
                a.check(2, "attribute", "start");
                Object attribute = a.get(0, "attribute", null);
                Object total = a.get(1, "start", 0L);
                Function<Object, Object> getter = attribute == null ? x -> x : attrGetter(in, attribute, null);
                for (Object item : Py.iterate(v)) {
                    total = Py.add(total, getter.apply(item), in.limits);
                }
                return total;
            }
            case "title": {
                a.check(0);
                StringBuilder sb = new StringBuilder();
                String s = softStr(v);
                Matcher m = WORD_BEGINNING.matcher(s);
                int last = 0;
                List<String> parts = new ArrayList<>();
                while (m.find()) {
                    parts.add(s.substring(last, m.start()));
                    parts.add(m.group());
                    last = m.end();
                }
                parts.add(s.substring(last));
                for (String item : parts) {
                    if (!item.isEmpty()) {
                        int cp = item.codePointAt(0);
                        int n = Character.charCount(cp);
                        sb.append(Methods.upper(item.substring(0, n))).append(Methods.lower(item.substring(n)));
                    }
                }
                return sb.toString();
            }
            case "trim": {
                a.check(1, "chars");
                Object chars = a.get(0, "chars", null);
                return Methods.strip(softStr(v), chars == null ? null : softStr(chars), true, true);
            }
            case "truncate": {
                a.check(4, "length", "killwords", "end", "leeway");
                long length = a.integer(0, "length", 255);
                boolean killwords = a.bool(1, "killwords", false);
                String end = softStr(a.get(2, "end", "..."));
                long leeway = a.integer(3, "leeway", 5);
                if (Py.len(v) <= length + leeway) {
                    return v;
                }
                if (!(v instanceof String s)) {
                    throw new TemplateException("AttributeError", "'" + Py.typeName(v) + "' object has no attribute 'rsplit'");
                }
                int endLen = Py.cpLen(end);
                if (length < endLen) {
                    throw new TemplateException("AssertionError", "expected length >= " + endLen + ", got " + length);
                }
                if (leeway < 0) {
                    throw new TemplateException("AssertionError", "expected leeway >= 0, got " + leeway);
                }
                int len = Py.cpLen(s);
                if (len <= length + leeway) {
                    return s;
                }
                String head = s.substring(0, s.offsetByCodePoints(0, (int) (length - endLen)));
                if (killwords) {
                    return head + end;
                }
                List<Object> parts = Methods.rsplit(head, " ", 1);
                return parts.get(0) + end;
            }
            case "unique": {
                a.check(2, "case_sensitive", "attribute");
                boolean cs = a.bool(0, "case_sensitive", false);
                Object attribute = a.get(1, "attribute", null);
                Object src = v;
                return generator(() -> unique(in, src, cs, attribute));
            }
            case "wordcount": {
                a.check(0);
                Matcher m = WORD.matcher(softStr(v));
                long c = 0;
                while (m.find()) {
                    c++;
                }
                return c;
            }
            case "tojson":
                return tojson(in, v, a);
            default:
                if (!NAMES.contains(name)) {
                    throw new TemplateException("TemplateRuntimeError", "No filter named " + Py.repr(name) + " found.");
                }
                throw new TemplateException("TemplateRuntimeError", "the '" + name + "' filter is not supported");
        }
    }

    // ------------------------------------------------------------ helpers

    /** transformers' {@code tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)}. */
    private static Object tojson(Interpreter in, Object v, CallArgs a) {
        a.check(4, "ensure_ascii", "indent", "separators", "sort_keys");
        boolean ascii = a.bool(0, "ensure_ascii", false);
        Object indentArg = a.get(1, "indent", null);
        Object seps = a.get(2, "separators", null);
        boolean sortKeys = a.bool(3, "sort_keys", false);
        String indent = null;
        if (indentArg instanceof String s) {
            indent = s;
        } else if (indentArg != null) {
            if (!Py.isInt(indentArg)) {
                Py.checkDefined(indentArg);
                throw Py.typeError("can't multiply sequence by non-int of type '" + Py.typeName(indentArg) + "'");
            }
            long n = Py.toLong(indentArg);
            in.limits.checkSize(n);
            indent = " ".repeat((int) Math.max(0, n));
        }
        String itemSep = indent == null ? ", " : ",";
        String keySep = ": ";
        if (seps != null) {
            List<Object> sl = Py.iterate(seps);
            if (sl.size() != 2) {
                throw Py.valueError("too many values to unpack (expected 2)");
            }
            itemSep = Py.str(sl.get(0));
            keySep = Py.str(sl.get(1));
        }
        return Json.dumps(v, ascii, indent, itemSep, keySep, sortKeys, in.limits);
    }

    private static Object ignoreCase(Object v, boolean caseSensitive) {
        return !caseSensitive && v instanceof String s ? Methods.lower(s) : v;
    }

    /** Stable sort by key with Python ordering (TypeError on mixed types). */
    private static void sortBy(List<Object> items, Function<Object, Object> key, boolean reverse) {
        List<Object[]> decorated = new ArrayList<>();
        for (Object item : items) {
            decorated.add(new Object[] {key.apply(item), item});
        }
        java.util.Comparator<Object[]> cmp = (x, y) -> Py.sortCompare(x[0], y[0]);
        decorated.sort(reverse ? cmp.reversed() : cmp);
        items.clear();
        for (Object[] d : decorated) {
            items.add(d[1]);
        }
    }

    /** Jinja's {@code make_attrgetter}: dotted path with integer parts, through the sandbox's getitem. */
    static Function<Object, Object> attrGetter(Interpreter in, Object attribute, Object dflt) {
        List<Object> parts = new ArrayList<>();
        if (attribute instanceof String s) {
            for (String p : s.split("\\.", -1)) {
                parts.add(!p.isEmpty() && p.chars().allMatch(c -> c >= '0' && c <= '9') ? (Object) Long.parseLong(p) : p);
            }
        } else if (attribute != null) {
            parts.add(attribute);
        }
        return item -> {
            Object cur = item;
            for (Object p : parts) {
                cur = in.getitem(cur, p);
                if (dflt != null && cur instanceof Undefined) {
                    cur = dflt;
                }
            }
            return cur;
        };
    }

    private static List<Object> escapeAll(List<Object> args) {
        List<Object> out = new ArrayList<>();
        for (Object o : args) {
            out.add(o instanceof String || o instanceof Markup ? Markup.escape(o).s : o);
        }
        return out;
    }

    private static Map<String, Object> escapeAll(Map<String, Object> kwargs) {
        Map<String, Object> out = new LinkedHashMap<>();
        kwargs.forEach((k, o) -> out.put(k, o instanceof String || o instanceof Markup ? Markup.escape(o).s : o));
        return out;
    }

    private static PyIter generator(java.util.function.Supplier<List<Object>> items) {
        return new PyIter("generator", items);
    }

    private static List<Object> batch(Object v, long count, Object fill) {
        List<Object> out = new ArrayList<>();
        List<Object> tmp = new ArrayList<>();
        for (Object item : Py.iterate(v)) {
            if (tmp.size() == count) {
                out.add(tmp);
                tmp = new ArrayList<>();
            }
            tmp.add(item);
        }
        if (!tmp.isEmpty()) {
            if (fill != null) {
                while (tmp.size() < count) {
                    tmp.add(fill);
                }
            }
            out.add(tmp);
        }
        return out;
    }

    private static List<Object> slice(Object v, long slices, Object fill) {
        List<Object> seq = Py.iterate(v);
        int length = seq.size();
        long per = length / slices;
        long extra = length % slices;
        long offset = 0;
        List<Object> out = new ArrayList<>();
        for (long sn = 0; sn < slices; sn++) {
            long start = offset + sn * per;
            if (sn < extra) {
                offset++;
            }
            long end = offset + (sn + 1) * per;
            List<Object> tmp = new ArrayList<>(seq.subList((int) start, (int) end));
            if (fill != null && sn >= extra) {
                tmp.add(fill);
            }
            out.add(tmp);
        }
        return out;
    }

    private static List<Object> unique(Interpreter in, Object v, boolean cs, Object attribute) {
        Function<Object, Object> getter = attribute == null ? x -> x : attrGetter(in, attribute, null);
        List<Object> seen = new ArrayList<>();
        List<Object> out = new ArrayList<>();
        for (Object item : Py.iterate(v)) {
            Object key = ignoreCase(getter.apply(item), cs);
            Py.checkHashable(key);
            boolean dup = false;
            for (Object s : seen) {
                if (Py.eq(s, key)) {
                    dup = true;
                    break;
                }
            }
            if (!dup) {
                seen.add(key);
                out.add(item);
            }
        }
        return out;
    }

    private static Object map(Interpreter in, Object v, CallArgs a) {
        return generator(() -> mapItems(in, v, a));
    }

    private static List<Object> mapItems(Interpreter in, Object v, CallArgs a) {
        if (!Py.truthy(v)) {
            return new ArrayList<>();
        }
        List<Object> items = Py.iterate(v);
        List<Object> out = new ArrayList<>(items.size());
        if (a.pos.isEmpty() && a.kw.containsKey("attribute")) {
            Map<String, Object> kw = new LinkedHashMap<>(a.kw);
            Object attribute = kw.remove("attribute");
            Object dflt = kw.remove("default");
            if (!kw.isEmpty()) {
                throw new TemplateException("FilterArgumentError",
                        "Unexpected keyword argument " + Py.repr(kw.keySet().iterator().next()));
            }
            Function<Object, Object> getter = attrGetter(in, attribute, dflt);
            for (Object item : items) {
                out.add(getter.apply(item));
            }
            return out;
        }
        if (a.pos.isEmpty()) {
            throw new TemplateException("FilterArgumentError", "map requires a filter argument");
        }
        Object filterName = a.pos.get(0);
        List<Object> rest = a.pos.subList(1, a.pos.size());
        for (Object item : items) {
            in.limits.step();
            out.add(apply(in, checkName(filterName, true), item, rest, a.kw));
        }
        return out;
    }

    private static String checkName(Object name, boolean filter) {
        if (!(name instanceof String s) || !(filter ? NAMES : Tests.NAMES).contains(s)) {
            throw new TemplateException("TemplateRuntimeError",
                    "No " + (filter ? "filter" : "test") + " named " + Py.repr(name) + ".");
        }
        return s;
    }

    private static Object selectOrReject(Interpreter in, Object v, CallArgs a, boolean select, boolean lookupAttr) {
        return generator(() -> selectItems(in, v, a, select, lookupAttr));
    }

    private static List<Object> selectItems(Interpreter in, Object v, CallArgs a, boolean select, boolean lookupAttr) {
        if (!Py.truthy(v)) {
            return new ArrayList<>();
        }
        Function<Object, Object> trans = x -> x;
        int off = 0;
        if (lookupAttr) {
            if (a.pos.isEmpty()) {
                throw new TemplateException("FilterArgumentError", "Missing parameter for attribute name");
            }
            trans = attrGetter(in, a.pos.get(0), null);
            off = 1;
        }
        String test = a.pos.size() > off ? checkName(a.pos.get(off), false) : null;
        List<Object> testArgs = a.pos.size() > off + 1 ? a.pos.subList(off + 1, a.pos.size()) : List.of();
        List<Object> out = new ArrayList<>();
        for (Object item : Py.iterate(v)) {
            in.limits.step();
            Object x = trans.apply(item);
            boolean r = test == null ? Py.truthy(x) : Tests.apply(in, test, x, testArgs, a.kw);
            if (r == select) {
                out.add(item);
            }
        }
        return out;
    }

    static String escape(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> sb.append("&amp;");
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '"' -> sb.append("&#34;");
                case '\'' -> sb.append("&#39;");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    private static String unescape(String s) {
        return s.replace("&lt;", "<").replace("&gt;", ">").replace("&#34;", "\"").replace("&quot;", "\"")
                .replace("&#39;", "'").replace("&amp;", "&");
    }

    private static double floatValue(Object v) {
        Double d = toFloat(v);
        if (d == null) {
            throw Py.valueError("could not convert to float: " + Py.repr(v));
        }
        return d;
    }

    private static String fileSize(double bytes, boolean binary) {
        int base = binary ? 1024 : 1000;
        String[] prefixes = binary ? new String[] {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"}
                : new String[] {"kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
        if (bytes == 1) {
            return "1 Byte";
        }
        if (bytes < base) {
            return (long) bytes + " Bytes";
        }
        double unit = 0;
        String prefix = "";
        for (int i = 0; i < prefixes.length; i++) {
            unit = Math.pow(base, i + 2);
            prefix = prefixes[i];
            if (bytes < unit) {
                break;
            }
        }
        return PyFormat.formatFloat(base * bytes / unit, 'f', 1, false) + " " + prefix;
    }

    /** Python's {@code float(v)} or null when it raises TypeError/ValueError. */
    static Double toFloat(Object v) {
        if (v instanceof Undefined u) {
            throw u.error();
        }
        if (Py.isNumber(v)) {
            return Py.toDouble(v);
        }
        if (v instanceof String s) {
            return parsePyFloat(s);
        }
        return null;
    }

    private static final Pattern PY_FLOAT = Pattern.compile(
            "[+-]?((\\d(_?\\d)*)?\\.?\\d(_?\\d)*([eE][+-]?\\d(_?\\d)*)?|\\d(_?\\d)*\\.([eE][+-]?\\d(_?\\d)*)?)");

    private static Double parsePyFloat(String s) {
        String t = Methods.strip(s, null, true, true);
        String lower = Methods.lower(t);
        String unsigned = lower.startsWith("+") || lower.startsWith("-") ? lower.substring(1) : lower;
        double sign = lower.startsWith("-") ? -1 : 1;
        if (unsigned.equals("inf") || unsigned.equals("infinity")) {
            return sign * Double.POSITIVE_INFINITY;
        }
        if (unsigned.equals("nan")) {
            return Double.NaN;
        }
        if (!PY_FLOAT.matcher(t).matches()) {
            return null;
        }
        return Double.parseDouble(t.replace("_", ""));
    }

    /** Jinja's {@code do_int}. */
    private static Object toInt(Object v, Object dflt, long base) {
        if (v instanceof Undefined u) {
            throw u.error();
        }
        if (v instanceof String s) {
            String t = Methods.strip(s, null, true, true);
            Long parsed = parseIntBase(t, base);
            if (parsed != null) {
                return parsed;
            }
            Double d = parsePyFloat(s);
            if (d == null || !Double.isFinite(d)) {
                return dflt;
            }
            return (long) (double) d;
        }
        if (Py.isInt(v)) {
            return Py.toLong(v);
        }
        if (v instanceof Double d) {
            if (!Double.isFinite(d)) {
                return dflt;
            }
            return (long) (double) d;
        }
        return dflt;
    }

    private static Long parseIntBase(String t, long base) {
        String s = t;
        boolean neg = false;
        if (s.startsWith("+") || s.startsWith("-")) {
            neg = s.startsWith("-");
            s = s.substring(1);
        }
        String low = Methods.lower(s);
        int radix = (int) base;
        if (base == 0) {
            if (low.startsWith("0x")) {
                radix = 16;
                s = s.substring(2);
            } else if (low.startsWith("0o")) {
                radix = 8;
                s = s.substring(2);
            } else if (low.startsWith("0b")) {
                radix = 2;
                s = s.substring(2);
            } else {
                radix = 10;
            }
        } else if ((base == 16 && low.startsWith("0x")) || (base == 8 && low.startsWith("0o"))
                || (base == 2 && low.startsWith("0b"))) {
            s = s.substring(2);
        }
        if (radix < 2 || radix > 36 || s.isEmpty() || s.startsWith("_") || s.endsWith("_") || s.contains("__")) {
            return null;
        }
        try {
            long r = Long.parseLong(s.replace("_", ""), radix);
            return neg ? -r : r;
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
