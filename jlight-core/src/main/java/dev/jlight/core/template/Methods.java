package dev.jlight.core.template;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Python attributes and methods of template values: str, dict, list, tuple, numbers. */
final class Methods {
    private Methods() {}

    static final Object NOT_FOUND = new Object();

    private static final Set<String> STR_METHODS = Set.of(
            "capitalize", "casefold", "center", "count", "endswith", "find", "format", "format_map", "index",
            "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric",
            "isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower", "lstrip", "partition",
            "removeprefix", "removesuffix", "replace", "rfind", "rindex", "rjust", "rpartition", "rsplit", "rstrip",
            "split", "splitlines", "startswith", "strip", "swapcase", "title", "upper", "zfill", "expandtabs");
    private static final Set<String> DICT_METHODS = Set.of("items", "keys", "values", "get", "copy");
    private static final Set<String> DICT_MUTATORS = Set.of("clear", "pop", "popitem", "setdefault", "update");
    private static final Set<String> LIST_METHODS = Set.of("index", "count", "copy");
    private static final Set<String> LIST_MUTATORS = Set.of("append", "clear", "pop", "reverse", "insert", "sort",
            "extend", "remove");

    /** A method looked up on a value, as {@code 'abc'.upper} is in Python. */
    record BoundMethod(Object self, String name) implements PyCallable {
        @Override
        public Object call(Interpreter in, List<Object> args, Map<String, Object> kwargs) {
            return invoke(in, self, name, new CallArgs(name, args, kwargs));
        }

        @Override
        public String repr() {
            return "<built-in method " + name + " of " + Py.typeName(self) + " object>";
        }
    }

    /**
     * Python {@code getattr(obj, name)} for the value model, with the immutable sandbox's refusals;
     * {@link #NOT_FOUND} when Python has no such attribute.
     */
    static Object attribute(Object obj, String name) {
        if (obj instanceof Markup) {
            return STR_METHODS.contains(name) ? new BoundMethod(obj, name) : NOT_FOUND;
        }
        if (obj instanceof String) {
            return STR_METHODS.contains(name) ? new BoundMethod(obj, name) : NOT_FOUND;
        }
        if (obj instanceof Map) {
            if (DICT_METHODS.contains(name)) {
                return new BoundMethod(obj, name);
            }
            return DICT_MUTATORS.contains(name) ? Undefined.unsafe(obj, name) : NOT_FOUND;
        }
        if (obj instanceof PySeq.Tuple t && t.names != null && t.names.contains(name)) {
            return t.get(t.names.indexOf(name));
        }
        if (obj instanceof PySeq.Tuple || obj instanceof PySeq.Range) {
            return name.equals("index") || name.equals("count") ? new BoundMethod(obj, name) : NOT_FOUND;
        }
        if (obj instanceof List) {
            if (obj instanceof PySeq) {
                return NOT_FOUND;
            }
            if (LIST_METHODS.contains(name)) {
                return new BoundMethod(obj, name);
            }
            return LIST_MUTATORS.contains(name) ? Undefined.unsafe(obj, name) : NOT_FOUND;
        }
        if (obj instanceof Namespace ns) {
            return ns.attrs.containsKey(name) ? ns.attrs.get(name) : NOT_FOUND;
        }
        if (obj instanceof LoopContext lc) {
            return lc.attribute(name);
        }
        if (obj instanceof Builtins.Cycler c) {
            return c.attribute(name);
        }
        if (obj instanceof Long || obj instanceof Boolean) {
            return switch (name) {
                case "real", "numerator" -> Py.toLong(obj);
                case "imag" -> 0L;
                case "denominator" -> 1L;
                default -> NOT_FOUND;
            };
        }
        if (obj instanceof Double d) {
            return switch (name) {
                case "real" -> d;
                case "imag" -> 0.0;
                case "is_integer" -> new BoundMethod(obj, name);
                default -> NOT_FOUND;
            };
        }
        return NOT_FOUND;
    }

    /** markupsafe's methods that escape their str arguments and return Markup. */
    private static final Set<String> MARKUP_WRAPPED = Set.of("capitalize", "title", "lower", "upper", "replace",
            "ljust", "rjust", "lstrip", "rstrip", "center", "strip", "expandtabs", "swapcase", "zfill", "casefold",
            "removeprefix", "removesuffix", "partition", "rpartition");

    private static Object markupMethod(Interpreter in, Markup m, String name, CallArgs a) {
        if (name.equals("format") || name.equals("format_map") || name.equals("join")) {
            List<Object> pos = new ArrayList<>();
            for (Object o : a.pos) {
                pos.add(name.equals("join") ? escapeItems(o) : escapeArg(o));
            }
            Map<String, Object> kw = new LinkedHashMap<>();
            a.kw.forEach((k, v) -> kw.put(k, escapeArg(v)));
            return new Markup((String) strMethod(in, m.s, name, new CallArgs(name, pos, kw)));
        }
        boolean wrapped = MARKUP_WRAPPED.contains(name);
        CallArgs args = a;
        if (wrapped) {
            List<Object> pos = new ArrayList<>();
            for (Object o : a.pos) {
                pos.add(o instanceof String || o instanceof Markup ? Markup.escape(o).s : o);
            }
            args = new CallArgs(name, pos, a.kw);
        }
        Object r = strMethod(in, m.s, name, args);
        if (name.equals("split") || name.equals("rsplit") || name.equals("splitlines") || wrapped) {
            return wrapMarkup(r);
        }
        return r;
    }

    private static Object escapeArg(Object o) {
        return o instanceof String || o instanceof Markup ? Markup.escape(o).s : o;
    }

    private static Object escapeItems(Object o) {
        List<Object> out = new ArrayList<>();
        for (Object item : Py.iterate(o)) {
            out.add(item instanceof String || item instanceof Markup ? Markup.escape(item).s : item);
        }
        return out;
    }

    private static Object wrapMarkup(Object r) {
        if (r instanceof String s) {
            return new Markup(s);
        }
        if (r instanceof PySeq.Tuple t) {
            List<Object> out = new ArrayList<>();
            for (Object o : t) {
                out.add(wrapMarkup(o));
            }
            return new PySeq.Tuple(out);
        }
        if (r instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            for (Object o : l) {
                out.add(wrapMarkup(o));
            }
            return out;
        }
        return r;
    }

    static Object invoke(Interpreter in, Object self, String name, CallArgs a) {
        if (self instanceof Markup m) {
            return markupMethod(in, m, name, a);
        }
        if (self instanceof String s) {
            return strMethod(in, s, name, a);
        }
        if (self instanceof Map<?, ?> m) {
            return dictMethod(m, name, a);
        }
        if (self instanceof List<?> l) {
            return listMethod(l, name, a);
        }
        if (self instanceof Double d && name.equals("is_integer")) {
            a.check(0);
            return !Double.isInfinite(d) && d == Math.floor(d);
        }
        throw Py.typeError("unsupported method " + name);
    }

    // ------------------------------------------------------------ dict, list

    static PySeq.DictView items(Map<?, ?> m) {
        List<Object> out = new ArrayList<>(m.size());
        for (Map.Entry<?, ?> e : m.entrySet()) {
            out.add(new PySeq.Tuple(e.getKey(), e.getValue()));
        }
        return new PySeq.DictView("items", out);
    }

    private static Object dictMethod(Map<?, ?> m, String name, CallArgs a) {
        switch (name) {
            case "items":
                a.check(0);
                return items(m);
            case "keys":
                a.check(0);
                return new PySeq.DictView("keys", new ArrayList<>(m.keySet()));
            case "values":
                a.check(0);
                return new PySeq.DictView("values", new ArrayList<>(m.values()));
            case "get": {
                a.check(2).min(1);
                Object key = a.pos.get(0);
                Py.checkHashable(key);
                Object k = Py.findKey(m, key);
                return k == Py.NO_KEY ? a.get(1, null, null) : m.get(k);
            }
            case "copy":
                a.check(0);
                return new LinkedHashMap<Object, Object>(m);
            default:
                throw Py.typeError("unsupported method dict." + name);
        }
    }

    private static Object listMethod(List<?> l, String name, CallArgs a) {
        switch (name) {
            case "index": {
                a.check(3).min(1);
                Object x = a.pos.get(0);
                int n = l.size();
                int[] r = sliceBounds(n, a.get(1, null, null), a.get(2, null, null));
                for (int i = r[0]; i < r[1]; i++) {
                    if (Py.eq(l.get(i), x)) {
                        return (long) i;
                    }
                }
                throw Py.valueError(Py.isList(l) ? Py.repr(x) + " is not in list" : "tuple.index(x): x not in tuple");
            }
            case "count": {
                a.check(1).min(1);
                long c = 0;
                for (Object o : l) {
                    if (Py.eq(o, a.pos.get(0))) {
                        c++;
                    }
                }
                return c;
            }
            case "copy":
                a.check(0);
                return new ArrayList<Object>(l);
            default:
                throw Py.typeError("unsupported method list." + name);
        }
    }

    /** Python's start/end clamping for find/count/index arguments (None means absent). */
    static int[] sliceBounds(int len, Object start, Object end) {
        long s = start == null ? 0 : Py.toLong(start);
        long e = end == null ? len : Py.toLong(end);
        if (s < 0) {
            s = Math.max(0, s + len);
        }
        if (e < 0) {
            e = Math.max(0, e + len);
        }
        s = Math.min(s, len);
        e = Math.min(e, len);
        return new int[] {(int) s, (int) e};
    }

    // ------------------------------------------------------------ str

    private static Object strMethod(Interpreter in, String s, String name, CallArgs a) {
        switch (name) {
            case "upper":
                a.check(0);
                return upper(s);
            case "lower":
                a.check(0);
                return lower(s);
            case "casefold":
                a.check(0);
                return lower(s);
            case "title":
                a.check(0);
                return title(s);
            case "capitalize":
                a.check(0);
                return capitalize(s);
            case "swapcase":
                a.check(0);
                return swapcase(s);
            case "strip":
                a.check(1, "chars");
                return strip(s, a.strOrNone(0, "chars"), true, true);
            case "lstrip":
                a.check(1, "chars");
                return strip(s, a.strOrNone(0, "chars"), true, false);
            case "rstrip":
                a.check(1, "chars");
                return strip(s, a.strOrNone(0, "chars"), false, true);
            case "split":
                a.check(2, "sep", "maxsplit");
                return split(s, a.strOrNone(0, "sep"), a.integer(1, "maxsplit", -1));
            case "rsplit":
                a.check(2, "sep", "maxsplit");
                return rsplit(s, a.strOrNone(0, "sep"), a.integer(1, "maxsplit", -1));
            case "splitlines":
                a.check(1, "keepends");
                return splitlines(s, a.bool(0, "keepends", false));
            case "startswith":
            case "endswith": {
                a.check(3).min(1);
                Object prefix = a.pos.get(0);
                String sub = window(s, a.get(1, null, null), a.get(2, null, null));
                if (sub == null) {
                    return false;
                }
                List<Object> options = prefix instanceof PySeq.Tuple t ? t : List.of(prefix);
                for (Object o : options) {
                    if (!(o instanceof String p)) {
                        throw Py.typeError(name + " first arg must be str or a tuple of str, not " + Py.typeName(o));
                    }
                    if (name.equals("startswith") ? sub.startsWith(p) : sub.endsWith(p)) {
                        return true;
                    }
                }
                return false;
            }
            case "replace": {
                a.check(3, "count").min(2);
                return replace(s, a.str(0, null, null), a.str(1, null, null), a.integer(2, "count", -1), in.limits);
            }
            case "find":
            case "rfind":
            case "index":
            case "rindex": {
                a.check(3).min(1);
                String sub = a.str(0, null, null);
                long r = find(s, sub, a.get(1, null, null), a.get(2, null, null), name.startsWith("r"));
                if (r < 0 && name.endsWith("index")) {
                    throw Py.valueError("substring not found");
                }
                return r;
            }
            case "count": {
                a.check(3).min(1);
                return count(s, a.str(0, null, null), a.get(1, null, null), a.get(2, null, null));
            }
            case "join": {
                a.check(1).min(1);
                List<Object> items = Py.iterate(a.pos.get(0));
                StringBuilder sb = new StringBuilder();
                for (int i = 0; i < items.size(); i++) {
                    if (!(items.get(i) instanceof String item)) {
                        throw Py.typeError("sequence item " + i + ": expected str instance, " + Py.typeName(items.get(i))
                                + " found");
                    }
                    if (i > 0) {
                        sb.append(s);
                    }
                    sb.append(item);
                    in.limits.checkSize(sb.length());
                }
                return sb.toString();
            }
            case "format":
                return PyFormat.strFormat(in, s, a.pos, a.kw);
            case "format_map": {
                a.check(1).min(1);
                Object m = a.pos.get(0);
                if (!(m instanceof Map<?, ?> mm)) {
                    throw Py.typeError("format_map() argument must be a mapping");
                }
                Map<String, Object> kw = new LinkedHashMap<>();
                mm.forEach((k, v) -> kw.put(Py.str(k), v));
                return PyFormat.strFormat(in, s, List.of(), kw);
            }
            case "center":
            case "ljust":
            case "rjust": {
                a.check(2).min(1);
                long width = a.integer(0, null, 0);
                String fill = a.str(1, null, " ");
                if (Py.cpLen(fill) != 1) {
                    throw Py.typeError("The fill character must be exactly one character long");
                }
                return pad(s, width, fill, name, in.limits);
            }
            case "zfill": {
                a.check(1).min(1);
                long width = a.integer(0, null, 0);
                int len = Py.cpLen(s);
                if (width <= len) {
                    return s;
                }
                in.limits.checkSize(width);
                String zeros = "0".repeat((int) (width - len));
                if (!s.isEmpty() && (s.charAt(0) == '+' || s.charAt(0) == '-')) {
                    return s.charAt(0) + zeros + s.substring(1);
                }
                return zeros + s;
            }
            case "partition":
            case "rpartition": {
                a.check(1).min(1);
                String sep = a.str(0, null, null);
                if (sep.isEmpty()) {
                    throw Py.valueError("empty separator");
                }
                int i = name.equals("partition") ? s.indexOf(sep) : s.lastIndexOf(sep);
                if (i < 0) {
                    return name.equals("partition") ? new PySeq.Tuple(s, "", "") : new PySeq.Tuple("", "", s);
                }
                return new PySeq.Tuple(s.substring(0, i), sep, s.substring(i + sep.length()));
            }
            case "removeprefix": {
                a.check(1).min(1);
                String p = a.str(0, null, null);
                return s.startsWith(p) ? s.substring(p.length()) : s;
            }
            case "removesuffix": {
                a.check(1).min(1);
                String p = a.str(0, null, null);
                return !p.isEmpty() && s.endsWith(p) ? s.substring(0, s.length() - p.length()) : s;
            }
            case "expandtabs": {
                a.check(1, "tabsize");
                long tab = a.integer(0, "tabsize", 8);
                StringBuilder sb = new StringBuilder();
                int col = 0;
                for (int i = 0; i < s.length(); ) {
                    int cp = s.codePointAt(i);
                    i += Character.charCount(cp);
                    if (cp == '\t') {
                        if (tab > 0) {
                            int spaces = (int) (tab - col % tab);
                            sb.append(" ".repeat(spaces));
                            col += spaces;
                        }
                    } else {
                        sb.appendCodePoint(cp);
                        col = (cp == '\n' || cp == '\r') ? 0 : col + 1;
                    }
                }
                return sb.toString();
            }
            case "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric",
                 "isprintable", "isspace", "istitle", "isupper":
                a.check(0);
                return strPredicate(s, name);
            default:
                throw Py.typeError("unsupported method str." + name);
        }
    }

    static String upper(String s) {
        return s.toUpperCase(Locale.ROOT);
    }

    /** Python's {@code str.lower}: full mappings, and Python's final-sigma rule. */
    static String lower(String s) {
        if (s.indexOf('\u03a3') < 0) {
            return s.toLowerCase(Locale.ROOT);
        }
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            lowerInto(sb, s, i, cp);
            i += Character.charCount(cp);
        }
        return sb.toString();
    }

    private static void lowerInto(StringBuilder sb, String s, int i, int cp) {
        if (cp == 0x3a3) {
            sb.append(finalSigma(s, i) ? '\u03c2' : '\u03c3');
        } else {
            sb.append(new String(Character.toChars(cp)).toLowerCase(Locale.ROOT));
        }
    }

    /** CPython's handle_capital_sigma. */
    private static boolean finalSigma(String s, int i) {
        int j = i;
        while (j > 0) {
            int c = s.codePointBefore(j);
            if (!isCaseIgnorable(c)) {
                break;
            }
            j -= Character.charCount(c);
        }
        if (j == 0 || !isCased(s.codePointBefore(j))) {
            return false;
        }
        j = i + 1;
        while (j < s.length()) {
            int c = s.codePointAt(j);
            if (!isCaseIgnorable(c)) {
                return !isCased(c);
            }
            j += Character.charCount(c);
        }
        return true;
    }

    private static boolean isCaseIgnorable(int c) {
        int t = Character.getType(c);
        return t == Character.NON_SPACING_MARK || t == Character.ENCLOSING_MARK || t == Character.FORMAT
                || t == Character.MODIFIER_LETTER || t == Character.MODIFIER_SYMBOL
                || c == '\'' || c == '.' || c == ':' || c == 0xb7 || c == 0x387 || c == 0x5f4 || c == 0x2018
                || c == 0x2019 || c == 0x2024 || c == 0xfe13 || c == 0xfe52 || c == 0xfe55 || c == 0xff07
                || c == 0xff0e || c == 0xff1a;
    }

    private static boolean isCased(int cp) {
        return Character.isUpperCase(cp) || Character.isLowerCase(cp) || Character.isTitleCase(cp);
    }

    /** Titlecase mappings longer than one code point (Unicode SpecialCasing). */
    private static final Map<Integer, String> TITLE_SPECIAL = Map.ofEntries(
            Map.entry(0xdf, "Ss"), Map.entry(0xfb00, "Ff"), Map.entry(0xfb01, "Fi"), Map.entry(0xfb02, "Fl"),
            Map.entry(0xfb03, "Ffi"), Map.entry(0xfb04, "Ffl"), Map.entry(0xfb05, "St"), Map.entry(0xfb06, "St"),
            Map.entry(0x587, "\u0535\u0582"), Map.entry(0xfb13, "\u0544\u0576"), Map.entry(0xfb14, "\u0544\u0565"),
            Map.entry(0xfb15, "\u0544\u056b"), Map.entry(0xfb16, "\u054e\u0576"), Map.entry(0xfb17, "\u0544\u056d"),
            Map.entry(0x149, "\u02bcN"), Map.entry(0x390, "\u0399\u0308\u0301"), Map.entry(0x3b0, "\u03a5\u0308\u0301"),
            Map.entry(0x1f0, "J\u030c"), Map.entry(0x1e96, "H\u0331"), Map.entry(0x1e97, "T\u0308"),
            Map.entry(0x1e98, "W\u030a"), Map.entry(0x1e99, "Y\u030a"), Map.entry(0x1e9a, "A\u02be"),
            Map.entry(0x1f50, "\u03a5\u0313"), Map.entry(0x1f52, "\u03a5\u0313\u0300"),
            Map.entry(0x1f54, "\u03a5\u0313\u0301"), Map.entry(0x1f56, "\u03a5\u0313\u0342"),
            Map.entry(0x1fb6, "\u0391\u0342"), Map.entry(0x1fc6, "\u0397\u0342"), Map.entry(0x1fd2, "\u0399\u0308\u0300"),
            Map.entry(0x1fd3, "\u0399\u0308\u0301"), Map.entry(0x1fd6, "\u0399\u0342"), Map.entry(0x1fd7, "\u0399\u0308\u0342"),
            Map.entry(0x1fe2, "\u03a5\u0308\u0300"), Map.entry(0x1fe3, "\u03a5\u0308\u0301"), Map.entry(0x1fe4, "\u03a1\u0313"),
            Map.entry(0x1fe6, "\u03a5\u0342"), Map.entry(0x1fe7, "\u03a5\u0308\u0342"), Map.entry(0x1ff6, "\u03a9\u0342"),
            Map.entry(0x1fb2, "\u1fba\u0345"), Map.entry(0x1fb4, "\u0386\u0345"), Map.entry(0x1fc2, "\u1fca\u0345"),
            Map.entry(0x1fc4, "\u0389\u0345"), Map.entry(0x1ff2, "\u1ffa\u0345"), Map.entry(0x1ff4, "\u038f\u0345"),
            Map.entry(0x1fb7, "\u0391\u0342\u0345"), Map.entry(0x1fc7, "\u0397\u0342\u0345"),
            Map.entry(0x1ff7, "\u03a9\u0342\u0345"));

    private static String titleFull(int cp) {
        String special = TITLE_SPECIAL.get(cp);
        return special != null ? special : new String(Character.toChars(Character.toTitleCase(cp)));
    }

    /** Python's {@code str.title}. */
    static String title(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        boolean prevCased = false;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            if (prevCased) {
                lowerInto(sb, s, i, cp);
            } else {
                sb.append(titleFull(cp));
            }
            prevCased = isCased(cp);
            i += Character.charCount(cp);
        }
        return sb.toString();
    }

    /** Python's {@code str.capitalize}. */
    static String capitalize(String s) {
        if (s.isEmpty()) {
            return s;
        }
        StringBuilder sb = new StringBuilder(s.length());
        int first = s.codePointAt(0);
        sb.append(titleFull(first));
        for (int i = Character.charCount(first); i < s.length(); ) {
            int cp = s.codePointAt(i);
            lowerInto(sb, s, i, cp);
            i += Character.charCount(cp);
        }
        return sb.toString();
    }

    /** Python's {@code str.swapcase}. */
    static String swapcase(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            if (Character.isUpperCase(cp)) {
                lowerInto(sb, s, i, cp);
            } else if (Character.isLowerCase(cp)) {
                sb.append(new String(Character.toChars(cp)).toUpperCase(Locale.ROOT));
            } else {
                sb.appendCodePoint(cp);
            }
            i += Character.charCount(cp);
        }
        return sb.toString();
    }

    static String strip(String s, String chars, boolean left, boolean right) {
        int start = 0;
        int end = s.length();
        if (left) {
            while (start < end) {
                int cp = s.codePointAt(start);
                if (!stripChar(cp, chars)) {
                    break;
                }
                start += Character.charCount(cp);
            }
        }
        if (right) {
            while (end > start) {
                int cp = s.codePointBefore(end);
                if (!stripChar(cp, chars)) {
                    break;
                }
                end -= Character.charCount(cp);
            }
        }
        return s.substring(start, end);
    }

    private static boolean stripChar(int cp, String chars) {
        if (chars == null) {
            return Py.isSpace(cp);
        }
        return chars.indexOf(new String(Character.toChars(cp))) >= 0;
    }

    static List<Object> split(String s, String sep, long maxsplit) {
        List<Object> out = new ArrayList<>();
        if (maxsplit < 0) {
            maxsplit = Long.MAX_VALUE;
        }
        if (sep == null) {
            int i = 0;
            int n = s.length();
            while (true) {
                while (i < n && Py.isSpace(s.codePointAt(i))) {
                    i += Character.charCount(s.codePointAt(i));
                }
                if (i >= n) {
                    break;
                }
                if (out.size() == maxsplit) {
                    out.add(s.substring(i));
                    break;
                }
                int j = i;
                while (j < n && !Py.isSpace(s.codePointAt(j))) {
                    j += Character.charCount(s.codePointAt(j));
                }
                out.add(s.substring(i, j));
                i = j;
            }
            return out;
        }
        if (sep.isEmpty()) {
            throw Py.valueError("empty separator");
        }
        int i = 0;
        while (out.size() < maxsplit) {
            int j = s.indexOf(sep, i);
            if (j < 0) {
                break;
            }
            out.add(s.substring(i, j));
            i = j + sep.length();
        }
        out.add(s.substring(i));
        return out;
    }

    static List<Object> rsplit(String s, String sep, long maxsplit) {
        List<Object> out = new ArrayList<>();
        if (maxsplit < 0) {
            maxsplit = Long.MAX_VALUE;
        }
        if (sep == null) {
            int j = s.length();
            while (true) {
                while (j > 0 && Py.isSpace(s.codePointBefore(j))) {
                    j -= Character.charCount(s.codePointBefore(j));
                }
                if (j <= 0) {
                    break;
                }
                if (out.size() == maxsplit) {
                    out.add(s.substring(0, j));
                    break;
                }
                int i = j;
                while (i > 0 && !Py.isSpace(s.codePointBefore(i))) {
                    i -= Character.charCount(s.codePointBefore(i));
                }
                out.add(s.substring(i, j));
                j = i;
            }
        } else {
            if (sep.isEmpty()) {
                throw Py.valueError("empty separator");
            }
            int j = s.length();
            while (out.size() < maxsplit) {
                int i = s.lastIndexOf(sep, j - sep.length());
                if (i < 0 || j - sep.length() < 0) {
                    break;
                }
                out.add(s.substring(i + sep.length(), j));
                j = i;
            }
            out.add(s.substring(0, j));
        }
        java.util.Collections.reverse(out);
        return out;
    }

    private static boolean isLineBreak(int c) {
        return c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d || c == 0x1e || c == 0x85
                || c == 0x2028 || c == 0x2029;
    }

    static List<Object> splitlines(String s, boolean keepends) {
        List<Object> out = new ArrayList<>();
        int i = 0;
        int n = s.length();
        while (i < n) {
            int j = i;
            while (j < n && !isLineBreak(s.charAt(j))) {
                j++;
            }
            int eol = j;
            if (j < n) {
                if (s.charAt(j) == '\r' && j + 1 < n && s.charAt(j + 1) == '\n') {
                    j += 2;
                } else {
                    j++;
                }
                if (keepends) {
                    eol = j;
                }
            }
            out.add(s.substring(i, eol));
            i = j;
        }
        return out;
    }

    /** The part of s between Python-style start/end code point indexes, or null if start > len. */
    private static String window(String s, Object start, Object end) {
        if (start == null && end == null) {
            return s;
        }
        int len = Py.cpLen(s);
        long st = start == null ? 0 : Py.toLong(start);
        if (st < 0) {
            st = Math.max(0, st + len);
        }
        if (st > len) {
            return null;
        }
        int[] b = sliceBounds(len, st, end);
        if (b[1] < b[0]) {
            return "";
        }
        return s.substring(s.offsetByCodePoints(0, b[0]), s.offsetByCodePoints(0, b[1]));
    }

    static long find(String s, String sub, Object start, Object end, boolean reverse) {
        int len = Py.cpLen(s);
        int[] b = sliceBounds(len, start, end);
        if (b[1] - b[0] < Py.cpLen(sub)) {
            return -1;
        }
        int from = s.offsetByCodePoints(0, b[0]);
        int to = s.offsetByCodePoints(0, b[1]);
        String w = s.substring(from, to);
        int i = reverse ? w.lastIndexOf(sub) : w.indexOf(sub);
        if (i < 0) {
            return -1;
        }
        return b[0] + w.codePointCount(0, i);
    }

    static long count(String s, String sub, Object start, Object end) {
        int len = Py.cpLen(s);
        int[] b = sliceBounds(len, start, end);
        if (b[1] - b[0] < 0) {
            return 0;
        }
        String w = s.substring(s.offsetByCodePoints(0, b[0]), s.offsetByCodePoints(0, Math.max(b[0], b[1])));
        if (sub.isEmpty()) {
            return Py.cpLen(w) + 1;
        }
        long c = 0;
        int i = 0;
        while ((i = w.indexOf(sub, i)) >= 0) {
            c++;
            i += sub.length();
        }
        return c;
    }

    static String replace(String s, String old, String rep, long count, Limits limits) {
        if (count < 0) {
            count = Long.MAX_VALUE;
        }
        StringBuilder sb = new StringBuilder();
        if (old.isEmpty()) {
            long done = 0;
            int i = 0;
            while (i <= s.length()) {
                if (done < count) {
                    sb.append(rep);
                    done++;
                }
                if (i == s.length()) {
                    break;
                }
                int cp = s.codePointAt(i);
                sb.appendCodePoint(cp);
                i += Character.charCount(cp);
                limits.checkSize(sb.length());
            }
            return sb.toString();
        }
        int i = 0;
        long done = 0;
        while (done < count) {
            int j = s.indexOf(old, i);
            if (j < 0) {
                break;
            }
            sb.append(s, i, j).append(rep);
            limits.checkSize(sb.length());
            i = j + old.length();
            done++;
        }
        sb.append(s, i, s.length());
        return sb.toString();
    }

    static String pad(String s, long width, String fill, String how, Limits limits) {
        int len = Py.cpLen(s);
        if (width <= len) {
            return s;
        }
        limits.checkSize(width);
        long marg = width - len;
        long left;
        switch (how) {
            case "ljust" -> left = 0;
            case "rjust" -> left = marg;
            default -> left = marg / 2 + (marg & width & 1);
        }
        return fill.repeat((int) left) + s + fill.repeat((int) (marg - left));
    }

    private static boolean strPredicate(String s, String name) {
        if (name.equals("isascii")) {
            return s.chars().allMatch(c -> c < 0x80);
        }
        if (name.equals("isprintable")) {
            return s.codePoints().allMatch(Py::isPrintable);
        }
        if (name.equals("isidentifier")) {
            if (s.isEmpty()) {
                return false;
            }
            int first = s.codePointAt(0);
            return (Character.isLetter(first) || first == '_')
                    && s.codePoints().allMatch(c -> Character.isLetterOrDigit(c) || c == '_'
                    || Character.getType(c) == Character.NON_SPACING_MARK
                    || Character.getType(c) == Character.COMBINING_SPACING_MARK
                    || Character.getType(c) == Character.CONNECTOR_PUNCTUATION);
        }
        if (name.equals("islower") || name.equals("isupper")) {
            boolean cased = false;
            for (int i = 0; i < s.length(); ) {
                int cp = s.codePointAt(i);
                i += Character.charCount(cp);
                if (name.equals("islower") ? (Character.isUpperCase(cp) || Character.isTitleCase(cp))
                        : (Character.isLowerCase(cp) || Character.isTitleCase(cp))) {
                    return false;
                }
                if (isCased(cp)) {
                    cased = true;
                }
            }
            return cased;
        }
        if (name.equals("istitle")) {
            boolean cased = false;
            boolean prevCased = false;
            for (int i = 0; i < s.length(); ) {
                int cp = s.codePointAt(i);
                i += Character.charCount(cp);
                if (Character.isUpperCase(cp) || Character.isTitleCase(cp)) {
                    if (prevCased) {
                        return false;
                    }
                    prevCased = true;
                    cased = true;
                } else if (Character.isLowerCase(cp)) {
                    if (!prevCased) {
                        return false;
                    }
                    prevCased = true;
                    cased = true;
                } else {
                    prevCased = false;
                }
            }
            return cased;
        }
        if (s.isEmpty()) {
            return false;
        }
        return s.codePoints().allMatch(cp -> switch (name) {
            case "isalpha" -> Character.isLetter(cp);
            case "isdecimal" -> Character.getType(cp) == Character.DECIMAL_DIGIT_NUMBER;
            case "isdigit" -> Character.getType(cp) == Character.DECIMAL_DIGIT_NUMBER
                    || (Character.getType(cp) == Character.OTHER_NUMBER && Character.digit(cp, 10) >= 0)
                    || (cp >= 0xb2 && cp <= 0xb3) || cp == 0xb9 || (cp >= 0x2070 && cp <= 0x2079)
                    || (cp >= 0x2080 && cp <= 0x2089) || (cp >= 0x2460 && cp <= 0x2468);
            case "isnumeric" -> {
                int t = Character.getType(cp);
                yield t == Character.DECIMAL_DIGIT_NUMBER || t == Character.LETTER_NUMBER || t == Character.OTHER_NUMBER
                        || Character.isIdeographic(cp) && Character.getNumericValue(cp) >= 0;
            }
            case "isalnum" -> Character.isLetter(cp) || Character.getType(cp) == Character.DECIMAL_DIGIT_NUMBER
                    || Character.getType(cp) == Character.LETTER_NUMBER || Character.getType(cp) == Character.OTHER_NUMBER;
            case "isspace" -> Py.isSpace(cp);
            default -> false;
        });
    }
}
