package dev.jlight.core.template;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Python semantics on the template value model: String, Long, Double, Boolean, null (None),
 * List (list), {@link PySeq} (tuple, range, dict views), Map (dict), {@link Undefined},
 * {@link Namespace}, {@link PyCallable}.
 */
final class Py {
    private Py() {}

    // ---------------------------------------------------------------- types

    static String typeName(Object v) {
        if (v == null) {
            return "NoneType";
        } else if (v instanceof Boolean) {
            return "bool";
        } else if (v instanceof Long) {
            return "int";
        } else if (v instanceof Double) {
            return "float";
        } else if (v instanceof String) {
            return "str";
        } else if (v instanceof Markup) {
            return "Markup";
        } else if (v instanceof PyIter it) {
            return it.typeName;
        } else if (v instanceof PySeq s) {
            return s.typeName();
        } else if (v instanceof List) {
            return "list";
        } else if (v instanceof Map) {
            return "dict";
        } else if (v instanceof Undefined) {
            return "Undefined";
        } else if (v instanceof Namespace) {
            return "Namespace";
        } else if (v instanceof LoopContext) {
            return "LoopContext";
        } else if (v instanceof Macro) {
            return "Macro";
        } else if (v instanceof Methods.BoundMethod) {
            return "builtin_function_or_method";
        } else if (v instanceof PyCallable) {
            return "function";
        }
        return v.getClass().getSimpleName();
    }

    /** Jinja2's {@code object_type_repr}. */
    static String objectTypeRepr(Object v) {
        if (v == null) {
            return "None";
        }
        String name = typeName(v);
        return switch (name) {
            case "Undefined", "LoopContext", "Macro" -> "jinja2.runtime." + name + " object";
            case "Namespace" -> "jinja2.utils.Namespace object";
            case "Markup" -> "markupsafe.Markup object";
            default -> name + " object";
        };
    }

    static boolean isList(Object v) {
        return v instanceof List && !(v instanceof PySeq);
    }

    static boolean isInt(Object v) {
        return v instanceof Long || v instanceof Boolean;
    }

    static boolean isNumber(Object v) {
        return v instanceof Long || v instanceof Double || v instanceof Boolean;
    }


    static long toLong(Object v) {
        if (v instanceof Long l) {
            return l;
        }
        if (v instanceof Boolean b) {
            return b ? 1 : 0;
        }
        throw typeError("'" + typeName(v) + "' object cannot be interpreted as an integer");
    }

    static double toDouble(Object v) {
        if (v instanceof Double d) {
            return d;
        }
        if (v instanceof Long l) {
            return l;
        }
        if (v instanceof Boolean b) {
            return b ? 1 : 0;
        }
        throw typeError("must be real number, not " + typeName(v));
    }

    static TemplateException typeError(String msg) {
        return new TemplateException("TypeError", msg);
    }

    static TemplateException valueError(String msg) {
        return new TemplateException("ValueError", msg);
    }

    /** A Markup's plain string; other values as they are. */
    static Object unwrap(Object v) {
        return v instanceof Markup m ? m.s : v;
    }

    static Object checkDefined(Object v) {
        if (v instanceof Undefined u) {
            throw u.error();
        }
        return v;
    }

    // ---------------------------------------------------------------- truth, str, repr

    static boolean truthy(Object v) {
        if (v == null || v instanceof Undefined) {
            return false;
        } else if (v instanceof Boolean b) {
            return b;
        } else if (v instanceof Long l) {
            return l != 0;
        } else if (v instanceof Double d) {
            return d != 0.0;
        } else if (v instanceof String s) {
            return !s.isEmpty();
        } else if (v instanceof Markup m) {
            return !m.s.isEmpty();
        } else if (v instanceof List<?> l) {
            return !l.isEmpty();
        } else if (v instanceof Map<?, ?> m) {
            return !m.isEmpty();
        }
        return true;
    }

    /** Python's {@code str(v)}, which is what {@code {{ v }}} prints. */
    static String str(Object v) {
        if (v instanceof String s) {
            return s;
        }
        if (v instanceof Undefined) {
            return "";
        }
        if (v instanceof Markup m) {
            return m.s;
        }
        StringBuilder sb = new StringBuilder();
        repr(sb, v, 0);
        return sb.toString();
    }

    static String repr(Object v) {
        StringBuilder sb = new StringBuilder();
        repr(sb, v, 0);
        return sb.toString();
    }

    private static void repr(StringBuilder sb, Object v, int depth) {
        if (depth > 200) {
            throw new TemplateException("RecursionError", "maximum recursion depth exceeded while getting the repr of an object");
        }
        if (v == null) {
            sb.append("None");
        } else if (v instanceof Boolean b) {
            sb.append(b ? "True" : "False");
        } else if (v instanceof Long l) {
            sb.append(l);
        } else if (v instanceof Double d) {
            sb.append(floatRepr(d));
        } else if (v instanceof String s) {
            stringRepr(sb, s);
        } else if (v instanceof PySeq.Range r) {
            sb.append("range(").append(r.start).append(", ").append(r.stop);
            if (r.step != 1) {
                sb.append(", ").append(r.step);
            }
            sb.append(')');
        } else if (v instanceof PySeq.DictView dv) {
            sb.append("dict_").append(dv.kind).append("([");
            for (int i = 0; i < dv.size(); i++) {
                if (i > 0) {
                    sb.append(", ");
                }
                repr(sb, dv.get(i), depth + 1);
            }
            sb.append("])");
        } else if (v instanceof PySeq.Tuple t) {
            sb.append('(');
            for (int i = 0; i < t.size(); i++) {
                if (i > 0) {
                    sb.append(", ");
                }
                repr(sb, t.get(i), depth + 1);
            }
            if (t.size() == 1) {
                sb.append(',');
            }
            sb.append(')');
        } else if (v instanceof List<?> l) {
            sb.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) {
                    sb.append(", ");
                }
                repr(sb, l.get(i), depth + 1);
            }
            sb.append(']');
        } else if (v instanceof Map<?, ?> m) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!first) {
                    sb.append(", ");
                }
                first = false;
                repr(sb, e.getKey(), depth + 1);
                sb.append(": ");
                repr(sb, e.getValue(), depth + 1);
            }
            sb.append('}');
        } else if (v instanceof Undefined) {
            sb.append("Undefined");
        } else if (v instanceof Markup m) {
            sb.append("Markup(");
            stringRepr(sb, m.s);
            sb.append(')');
        } else if (v instanceof PyIter it) {
            sb.append(it.repr());
        } else if (v instanceof Namespace ns) {
            sb.append("<Namespace ");
            repr(sb, ns.attrs, depth + 1);
            sb.append('>');
        } else if (v instanceof LoopContext lc) {
            sb.append("<LoopContext ").append(lc.index0 + 1).append('/').append(lc.length()).append('>');
        } else if (v instanceof PyCallable c) {
            sb.append(c.repr());
        } else {
            sb.append(v);
        }
    }

    static void stringRepr(StringBuilder sb, String s) {
        char quote = (s.indexOf('\'') >= 0 && s.indexOf('"') < 0) ? '"' : '\'';
        sb.append(quote);
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (cp == quote || cp == '\\') {
                sb.append('\\').appendCodePoint(cp);
            } else if (cp == '\t') {
                sb.append("\\t");
            } else if (cp == '\n') {
                sb.append("\\n");
            } else if (cp == '\r') {
                sb.append("\\r");
            } else if (cp < ' ' || cp == 0x7f) {
                sb.append(String.format("\\x%02x", cp));
            } else if (cp < 0x7f || isPrintable(cp)) {
                sb.appendCodePoint(cp);
            } else if (cp <= 0xff) {
                sb.append(String.format("\\x%02x", cp));
            } else if (cp <= 0xffff) {
                sb.append(String.format("\\u%04x", cp));
            } else {
                sb.append(String.format("\\U%08x", cp));
            }
        }
        sb.append(quote);
    }

    /** Python's {@code str.isprintable} for one code point. */
    static boolean isPrintable(int cp) {
        if (cp == ' ') {
            return true;
        }
        int t = Character.getType(cp);
        return switch (t) {
            case Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE,
                 Character.UNASSIGNED, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR,
                 Character.SPACE_SEPARATOR -> false;
            default -> true;
        };
    }

    /** Python's {@code float.__repr__} (shortest round-trip digits, Python's layout). */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        String js = Double.toString(Math.abs(d));
        String mant = js;
        int exp = 0;
        int e = js.indexOf('E');
        if (e >= 0) {
            mant = js.substring(0, e);
            exp = Integer.parseInt(js.substring(e + 1));
        }
        int dot = mant.indexOf('.');
        String digits = mant.substring(0, dot) + mant.substring(dot + 1);
        int decpt = dot + exp;
        int lead = 0;
        while (lead < digits.length() - 1 && digits.charAt(lead) == '0') {
            lead++;
        }
        digits = digits.substring(lead);
        decpt -= lead;
        int end = digits.length();
        while (end > 1 && digits.charAt(end - 1) == '0') {
            end--;
        }
        digits = digits.substring(0, end);
        int n = digits.length();
        StringBuilder sb = new StringBuilder();
        if (d < 0) {
            sb.append('-');
        }
        if (decpt <= -4 || decpt > 16) {
            sb.append(digits.charAt(0));
            if (n > 1) {
                sb.append('.').append(digits, 1, n);
            }
            int x = decpt - 1;
            sb.append('e').append(x < 0 ? '-' : '+');
            int ax = Math.abs(x);
            if (ax < 10) {
                sb.append('0');
            }
            sb.append(ax);
        } else if (decpt <= 0) {
            sb.append("0.");
            sb.append("0".repeat(-decpt));
            sb.append(digits);
        } else if (decpt >= n) {
            sb.append(digits).append("0".repeat(decpt - n)).append(".0");
        } else {
            sb.append(digits, 0, decpt).append('.').append(digits, decpt, n);
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------- strings as code points

    static boolean hasSurrogates(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (Character.isSurrogate(s.charAt(i))) {
                return true;
            }
        }
        return false;
    }

    static int[] codePoints(String s) {
        return s.codePoints().toArray();
    }

    static int cpLen(String s) {
        return s.codePointCount(0, s.length());
    }


    /** Python's {@code str.isspace} for one code point. */
    static boolean isSpace(int c) {
        return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0
                || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029
                || c == 0x202f || c == 0x205f || c == 0x3000;
    }

    static String rstripSpace(String s) {
        int end = s.length();
        while (end > 0) {
            int cp = s.codePointBefore(end);
            if (!isSpace(cp)) {
                break;
            }
            end -= Character.charCount(cp);
        }
        return s.substring(0, end);
    }

    static boolean isAllSpace(String s, int from) {
        if (from >= s.length()) {
            return false;
        }
        for (int i = from; i < s.length(); ) {
            int cp = s.codePointAt(i);
            if (!isSpace(cp)) {
                return false;
            }
            i += Character.charCount(cp);
        }
        return true;
    }

    // ---------------------------------------------------------------- equality and ordering

    static boolean eq(Object a, Object b) {
        a = unwrap(a);
        b = unwrap(b);
        if (a == b) {
            return true;
        }
        if (a == null || b == null) {
            return false;
        }
        if (isNumber(a) && isNumber(b)) {
            if (a instanceof Double || b instanceof Double) {
                return toDouble(a) == toDouble(b);
            }
            return toLong(a) == toLong(b);
        }
        if (a instanceof String sa) {
            return b instanceof String sb && sa.equals(sb);
        }
        if (a instanceof Undefined || b instanceof Undefined) {
            return a instanceof Undefined && b instanceof Undefined;
        }
        if (a instanceof List<?> la && b instanceof List<?> lb) {
            boolean aList = isList(a);
            boolean bList = isList(b);
            if (aList != bList) {
                return false;
            }
            if (!aList && !typeName(a).equals(typeName(b))) {
                return false;
            }
            if (la.size() != lb.size()) {
                return false;
            }
            for (int i = 0; i < la.size(); i++) {
                if (!eq(la.get(i), lb.get(i))) {
                    return false;
                }
            }
            return true;
        }
        if (a instanceof Map<?, ?> ma && b instanceof Map<?, ?> mb) {
            if (ma.size() != mb.size()) {
                return false;
            }
            for (Map.Entry<?, ?> e : ma.entrySet()) {
                Object key = findKey(mb, e.getKey());
                if (key == NO_KEY || !eq(e.getValue(), mb.get(key))) {
                    return false;
                }
            }
            return true;
        }
        return false;
    }

    static final Object NO_KEY = new Object();

    /** The key of {@code m} equal (Python ==) to {@code key}, or {@link #NO_KEY}. */
    static Object findKey(Map<?, ?> m, Object key) {
        if (m.containsKey(key)) {
            return key;
        }
        if (isNumber(key) || key instanceof List) {
            for (Object k : m.keySet()) {
                if (eq(k, key)) {
                    return k;
                }
            }
        }
        return NO_KEY;
    }

    static void checkHashable(Object key) {
        if (isList(key) || key instanceof Map || key instanceof Namespace) {
            throw typeError("unhashable type: '" + typeName(key) + "'");
        }
    }

    /** Python's {@code a < b} etc.; op is one of lt, lteq, gt, gteq. */
    static boolean compare(String op, Object a, Object b) {
        int c = order(op, a, b);
        return switch (op) {
            case "lt" -> c < 0;
            case "lteq" -> c <= 0;
            case "gt" -> c > 0;
            case "gteq" -> c >= 0;
            default -> throw new IllegalArgumentException(op);
        };
    }

    private static String opSymbol(String op) {
        return switch (op) {
            case "lt" -> "<";
            case "lteq" -> "<=";
            case "gt" -> ">";
            case "gteq" -> ">=";
            default -> op;
        };
    }

    /** Three-way comparison with Python's ordering rules, or TypeError. */
    static int order(String op, Object a, Object b) {
        Object origA = a;
        Object origB = b;
        a = unwrap(a);
        b = unwrap(b);
        checkDefined(a);
        checkDefined(b);
        if (isNumber(a) && isNumber(b)) {
            if (a instanceof Double || b instanceof Double) {
                return Double.compare(toDouble(a), toDouble(b));
            }
            return Long.compare(toLong(a), toLong(b));
        }
        if (a instanceof String sa && b instanceof String sb) {
            return compareCodePoints(sa, sb);
        }
        if (a instanceof List<?> la && b instanceof List<?> lb && typeName(a).equals(typeName(b))
                && (isList(a) || a instanceof PySeq.Tuple)) {
            int n = Math.min(la.size(), lb.size());
            for (int i = 0; i < n; i++) {
                if (!eq(la.get(i), lb.get(i))) {
                    return order(op, la.get(i), lb.get(i));
                }
            }
            return Integer.compare(la.size(), lb.size());
        }
        throw typeError("'" + opSymbol(op) + "' not supported between instances of '" + typeName(origA) + "' and '"
                + typeName(origB) + "'");
    }

    static int compareCodePoints(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Boolean.compare(i < a.length(), j < b.length());
    }

    /** Sort key comparison used by sort/min/max/dictsort filters. */
    static int sortCompare(Object a, Object b) {
        return order("lt", a, b);
    }

    // ---------------------------------------------------------------- containers

    static boolean contains(Object container, Object item) {
        container = unwrap(container);
        item = unwrap(item);
        if (container instanceof PyIter it) {
            return it.consumeUntil(item);
        }
        if (container instanceof String s) {
            if (!(item instanceof String sub)) {
                throw typeError("'in <string>' requires string as left operand, not " + typeName(item));
            }
            return s.contains(sub);
        }
        if (container instanceof Map<?, ?> m) {
            checkHashable(item);
            return findKey(m, item) != NO_KEY;
        }
        if (container instanceof List<?> l) {
            for (Object o : l) {
                if (eq(o, item)) {
                    return true;
                }
            }
            return false;
        }
        if (container instanceof Undefined) {
            return false;
        }
        throw typeError("argument of type '" + typeName(container) + "' is not iterable");
    }

    /** Materialises Python iteration over {@code v}. */
    static List<Object> iterate(Object v) {
        if (v instanceof List<?> l) {
            @SuppressWarnings("unchecked")
            List<Object> lo = (List<Object>) l;
            return lo;
        }
        if (v instanceof PyIter it) {
            return it.drain();
        }
        if (v instanceof Markup m) {
            v = m.s;
        }
        if (v instanceof String s) {
            List<Object> out = new ArrayList<>(s.length());
            s.codePoints().forEach(cp -> out.add(new String(Character.toChars(cp))));
            return out;
        }
        if (v instanceof Map<?, ?> m) {
            return new ArrayList<>(m.keySet());
        }
        if (v instanceof Undefined) {
            return List.of();
        }
        throw typeError("'" + typeName(v) + "' object is not iterable");
    }

    static boolean isIterable(Object v) {
        return v instanceof List || v instanceof String || v instanceof Map || v instanceof Undefined
                || v instanceof Markup || v instanceof PyIter;
    }

    static long len(Object v) {
        v = unwrap(v);
        if (v instanceof String s) {
            return cpLen(s);
        }
        if (v instanceof List<?> l) {
            return l.size();
        }
        if (v instanceof Map<?, ?> m) {
            return m.size();
        }
        if (v instanceof Undefined) {
            return 0;
        }
        throw typeError("object of type '" + typeName(v) + "' has no len()");
    }


    // ---------------------------------------------------------------- arithmetic

    static TemplateException overflow() {
        return new TemplateException("OverflowError", "integer result does not fit in 64 bits");
    }

    private static TemplateException unsupported(String sym, Object a, Object b) {
        return typeError("unsupported operand type(s) for " + sym + ": '" + typeName(a) + "' and '" + typeName(b) + "'");
    }

    static Object add(Object a, Object b, Limits limits) {
        if (a instanceof Markup || b instanceof Markup) {
            Object other = a instanceof Markup ? b : a;
            if (other instanceof String || other instanceof Markup) {
                String sa = a instanceof Markup ma ? ma.s : Markup.escape(a).s;
                String sb = b instanceof Markup mb ? mb.s : Markup.escape(b).s;
                limits.checkSize((long) sa.length() + sb.length());
                return new Markup(sa + sb);
            }
            checkDefined(other);
            throw unsupported("+", a, b);
        }
        checkDefined(a);
        checkDefined(b);
        if (isNumber(a) && isNumber(b)) {
            if (a instanceof Double || b instanceof Double) {
                return toDouble(a) + toDouble(b);
            }
            try {
                return Math.addExact(toLong(a), toLong(b));
            } catch (ArithmeticException e) {
                throw overflow();
            }
        }
        if (a instanceof String sa) {
            if (b instanceof String sb) {
                limits.checkSize((long) sa.length() + sb.length());
                return sa + sb;
            }
            throw typeError("can only concatenate str (not \"" + typeName(b) + "\") to str");
        }
        if (isList(a)) {
            if (isList(b)) {
                List<Object> out = new ArrayList<>(iterate(a));
                out.addAll(iterate(b));
                limits.checkSize(out.size());
                return out;
            }
            throw typeError("can only concatenate list (not \"" + typeName(b) + "\") to list");
        }
        if (a instanceof PySeq.Tuple ta) {
            if (b instanceof PySeq.Tuple tb) {
                List<Object> out = new ArrayList<>(ta);
                out.addAll(tb);
                return new PySeq.Tuple(out);
            }
            throw typeError("can only concatenate tuple (not \"" + typeName(b) + "\") to tuple");
        }
        throw unsupported("+", a, b);
    }

    static Object sub(Object a, Object b) {
        checkDefined(a);
        checkDefined(b);
        if (isNumber(a) && isNumber(b)) {
            if (a instanceof Double || b instanceof Double) {
                return toDouble(a) - toDouble(b);
            }
            try {
                return Math.subtractExact(toLong(a), toLong(b));
            } catch (ArithmeticException e) {
                throw overflow();
            }
        }
        throw unsupported("-", a, b);
    }

    static Object mul(Object a, Object b, Limits limits) {
        if ((a instanceof Markup && isInt(b)) || (b instanceof Markup && isInt(a))) {
            Markup m = a instanceof Markup ma ? ma : (Markup) b;
            return new Markup((String) mul(m.s, a instanceof Markup ? b : a, limits));
        }
        a = unwrap(a);
        b = unwrap(b);
        checkDefined(a);
        checkDefined(b);
        if (isNumber(a) && isNumber(b)) {
            if (a instanceof Double || b instanceof Double) {
                return toDouble(a) * toDouble(b);
            }
            try {
                return Math.multiplyExact(toLong(a), toLong(b));
            } catch (ArithmeticException e) {
                throw overflow();
            }
        }
        if (isInt(b) && (a instanceof String || a instanceof List)) {
            return repeat(a, toLong(b), limits);
        }
        if (isInt(a) && (b instanceof String || b instanceof List)) {
            return repeat(b, toLong(a), limits);
        }
        if (a instanceof String || b instanceof String || a instanceof List || b instanceof List) {
            Object seq = (a instanceof String || a instanceof List) ? a : b;
            Object other = seq == a ? b : a;
            throw typeError("can't multiply sequence by non-int of type '" + typeName(other) + "'");
        }
        throw unsupported("*", a, b);
    }

    private static Object repeat(Object seq, long n, Limits limits) {
        if (seq instanceof String s) {
            if (n <= 0 || s.isEmpty()) {
                return "";
            }
            limits.checkSize(s.length() * n);
            return s.repeat((int) n);
        }
        if (!isList(seq) && !(seq instanceof PySeq.Tuple)) {
            throw typeError("unsupported operand type(s) for *: '" + typeName(seq) + "' and 'int'");
        }
        List<?> l = (List<?>) seq;
        List<Object> out = new ArrayList<>();
        if (n > 0 && !l.isEmpty()) {
            limits.checkSize(l.size() * n);
            for (long i = 0; i < n; i++) {
                out.addAll(l);
            }
        }
        return seq instanceof PySeq.Tuple ? new PySeq.Tuple(out) : out;
    }

    static Object div(Object a, Object b) {
        checkDefined(a);
        checkDefined(b);
        if (isNumber(a) && isNumber(b)) {
            double y = toDouble(b);
            if (y == 0) {
                throw new TemplateException("ZeroDivisionError",
                        a instanceof Double || b instanceof Double ? "float division by zero" : "division by zero");
            }
            return toDouble(a) / y;
        }
        throw unsupported("/", a, b);
    }

    static Object floorDiv(Object a, Object b) {
        checkDefined(a);
        checkDefined(b);
        if (isNumber(a) && isNumber(b)) {
            if (a instanceof Double || b instanceof Double) {
                double x = toDouble(a);
                double y = toDouble(b);
                if (y == 0) {
                    throw new TemplateException("ZeroDivisionError", "float floor division by zero");
                }
                return floatDivmod(x, y)[0];
            }
            long y = toLong(b);
            if (y == 0) {
                throw new TemplateException("ZeroDivisionError", "integer division or modulo by zero");
            }
            long x = toLong(a);
            if (x == Long.MIN_VALUE && y == -1) {
                throw overflow();
            }
            return Math.floorDiv(x, y);
        }
        throw unsupported("//", a, b);
    }

    static Object mod(Object a, Object b) {
        checkDefined(a);
        checkDefined(b);
        if (isNumber(a) && isNumber(b)) {
            if (a instanceof Double || b instanceof Double) {
                double x = toDouble(a);
                double y = toDouble(b);
                if (y == 0) {
                    throw new TemplateException("ZeroDivisionError", "float modulo");
                }
                return floatDivmod(x, y)[1];
            }
            long y = toLong(b);
            if (y == 0) {
                throw new TemplateException("ZeroDivisionError", "integer modulo by zero");
            }
            return Math.floorMod(toLong(a), y);
        }
        throw unsupported("%", a, b);
    }

    /** CPython's float floor division and modulo. */
    private static double[] floatDivmod(double vx, double wx) {
        double mod = vx % wx;
        double div = (vx - mod) / wx;
        if (mod != 0) {
            if ((wx < 0) != (mod < 0)) {
                mod += wx;
                div -= 1.0;
            }
        } else {
            mod = Math.copySign(0.0, wx);
        }
        double floordiv;
        if (div != 0) {
            floordiv = Math.floor(div);
            if (div - floordiv > 0.5) {
                floordiv += 1.0;
            }
        } else {
            floordiv = Math.copySign(0.0, vx / wx);
        }
        return new double[] {floordiv, mod};
    }

    static Object pow(Object a, Object b) {
        checkDefined(a);
        checkDefined(b);
        if (isNumber(a) && isNumber(b)) {
            if (a instanceof Double || b instanceof Double || toLong(b) < 0) {
                double x = toDouble(a);
                double y = toDouble(b);
                if (x == 0 && y < 0) {
                    throw new TemplateException("ZeroDivisionError",
                            "0.0 cannot be raised to a negative power");
                }
                double r = Math.pow(x, y);
                if (Double.isInfinite(r) && Double.isFinite(x) && Double.isFinite(y)) {
                    throw new TemplateException("OverflowError", "(34, 'Numerical result out of range')");
                }
                return r;
            }
            long base = toLong(a);
            long exp = toLong(b);
            long result = 1;
            try {
                while (exp > 0) {
                    if ((exp & 1) == 1) {
                        result = Math.multiplyExact(result, base);
                    }
                    exp >>= 1;
                    if (exp > 0) {
                        base = Math.multiplyExact(base, base);
                    }
                }
            } catch (ArithmeticException e) {
                throw overflow();
            }
            return result;
        }
        throw unsupported("** or pow()", a, b);
    }

    static Object neg(Object a) {
        checkDefined(a);
        if (a instanceof Double d) {
            return -d;
        }
        if (isInt(a)) {
            long l = toLong(a);
            if (l == Long.MIN_VALUE) {
                throw overflow();
            }
            return -l;
        }
        throw typeError("bad operand type for unary -: '" + typeName(a) + "'");
    }

    static Object pos(Object a) {
        checkDefined(a);
        if (a instanceof Double) {
            return a;
        }
        if (isInt(a)) {
            return toLong(a);
        }
        throw typeError("bad operand type for unary +: '" + typeName(a) + "'");
    }
}
