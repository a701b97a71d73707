package dev.jlight.core.template;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** JSON in and out of the template value model, with Python's {@code json.dumps} output format. */
public final class Json {
    private Json() {}

    /**
     * Converts a Jackson tree (messages, tools, ...) to template values: objects to insertion-ordered
     * maps, arrays to lists, integers to Long, other numbers to Double.
     */
    public static Object fromJson(JsonNode node) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return null;
        }
        if (node.isObject()) {
            Map<Object, Object> m = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : node.properties()) {
                m.put(e.getKey(), fromJson(e.getValue()));
            }
            return m;
        }
        if (node.isArray()) {
            List<Object> l = new ArrayList<>(node.size());
            for (JsonNode item : node) {
                l.add(fromJson(item));
            }
            return l;
        }
        if (node.isTextual()) {
            return node.textValue();
        }
        if (node.isBoolean()) {
            return node.booleanValue();
        }
        if (node.isIntegralNumber()) {
            if (node.canConvertToLong()) {
                return node.longValue();
            }
            throw new TemplateException("OverflowError", "integer " + node.asText() + " does not fit in 64 bits");
        }
        if (node.isNumber()) {
            return node.doubleValue();
        }
        return node.asText();
    }

    /**
     * Normalises plain Java values handed to {@code render} into the value model (deep copy): any
     * Map, Collection, array, boxed number, CharSequence or JsonNode.
     */
    static Object normalize(Object v, int depth) {
        if (depth > 500) {
            throw new TemplateException("RecursionError", "context value nested too deeply");
        }
        if (v == null || v instanceof String || v instanceof Boolean || v instanceof Long || v instanceof Double) {
            return v;
        }
        if (v instanceof JsonNode n) {
            return fromJson(n);
        }
        if (v instanceof Integer || v instanceof Short || v instanceof Byte) {
            return ((Number) v).longValue();
        }
        if (v instanceof Float f) {
            return Double.parseDouble(Float.toString(f));
        }
        if (v instanceof BigInteger b) {
            if (b.bitLength() < 64) {
                return b.longValue();
            }
            throw new TemplateException("OverflowError", "integer " + b + " does not fit in 64 bits");
        }
        if (v instanceof BigDecimal b) {
            return b.doubleValue();
        }
        if (v instanceof CharSequence cs) {
            return cs.toString();
        }
        if (v instanceof Character c) {
            return c.toString();
        }
        if (v instanceof Namespace || v instanceof Undefined || v instanceof PyCallable || v instanceof PySeq
                || v instanceof Markup || v instanceof PyIter) {
            return v;
        }
        if (v instanceof Map<?, ?> m) {
            Map<Object, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                out.put(normalize(e.getKey(), depth + 1), normalize(e.getValue(), depth + 1));
            }
            return out;
        }
        if (v instanceof Collection<?> c) {
            List<Object> out = new ArrayList<>(c.size());
            for (Object o : c) {
                out.add(normalize(o, depth + 1));
            }
            return out;
        }
        if (v instanceof Object[] arr) {
            List<Object> out = new ArrayList<>(arr.length);
            for (Object o : arr) {
                out.add(normalize(o, depth + 1));
            }
            return out;
        }
        if (v instanceof Number n) {
            return n.doubleValue();
        }
        throw new TemplateException("TypeError", "unsupported context value of type " + v.getClass().getName());
    }

    /** Python's {@code json.dumps(v, ensure_ascii=..., indent=..., separators=..., sort_keys=...)}. */
    static String dumps(Object v, boolean ensureAscii, String indent, String itemSep, String keySep, boolean sortKeys,
                        Limits limits) {
        StringBuilder sb = new StringBuilder();
        new Writer(sb, ensureAscii, indent, itemSep, keySep, sortKeys, limits).write(v, 0);
        return sb.toString();
    }

    private record Writer(StringBuilder sb, boolean ascii, String indent, String itemSep, String keySep,
                          boolean sortKeys, Limits limits) {
        void write(Object v, int level) {
            if (level > 500) {
                throw new TemplateException("RecursionError", "maximum recursion depth exceeded while encoding a JSON object");
            }
            if (v == null) {
                sb.append("null");
            } else if (v instanceof Boolean b) {
                sb.append(b ? "true" : "false");
            } else if (v instanceof Long l) {
                sb.append(l);
            } else if (v instanceof Double d) {
                sb.append(floatStr(d));
            } else if (v instanceof String s) {
                string(s);
            } else if (v instanceof Markup m) {
                string(m.s);
            } else if (v instanceof PySeq.Tuple || (v instanceof List && Py.isList(v))) {
                List<?> l = (List<?>) v;
                if (l.isEmpty()) {
                    sb.append("[]");
                    return;
                }
                sb.append('[');
                for (int i = 0; i < l.size(); i++) {
                    if (i > 0) {
                        sb.append(itemSep);
                    }
                    newline(level + 1);
                    write(l.get(i), level + 1);
                    limits.checkSize(sb.length());
                }
                newline(level);
                sb.append(']');
            } else if (v instanceof Map<?, ?> m) {
                if (m.isEmpty()) {
                    sb.append("{}");
                    return;
                }
                List<Map.Entry<String, Object>> entries = new ArrayList<>();
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    entries.add(Map.entry(key(e.getKey()), e.getValue() == null ? NULL : e.getValue()));
                }
                if (sortKeys) {
                    entries.sort((a, b) -> Py.compareCodePoints(a.getKey(), b.getKey()));
                }
                sb.append('{');
                boolean first = true;
                for (Map.Entry<String, Object> e : entries) {
                    if (!first) {
                        sb.append(itemSep);
                    }
                    first = false;
                    newline(level + 1);
                    string(e.getKey());
                    sb.append(keySep);
                    write(e.getValue() == NULL ? null : e.getValue(), level + 1);
                    limits.checkSize(sb.length());
                }
                newline(level);
                sb.append('}');
            } else {
                throw Py.typeError("Object of type " + Py.typeName(v) + " is not JSON serializable");
            }
        }

        private static final Object NULL = new Object();

        private void newline(int level) {
            if (indent != null) {
                sb.append('\n');
                for (int i = 0; i < level; i++) {
                    sb.append(indent);
                }
            }
        }

        private static String floatStr(double d) {
            if (Double.isNaN(d)) {
                return "NaN";
            }
            if (Double.isInfinite(d)) {
                return d > 0 ? "Infinity" : "-Infinity";
            }
            return Py.floatRepr(d);
        }

        private static String key(Object k) {
            if (k instanceof String s) {
                return s;
            }
            if (k instanceof Double d) {
                return floatStr(d);
            }
            if (k instanceof Boolean b) {
                return b ? "true" : "false";
            }
            if (k == null) {
                return "null";
            }
            if (k instanceof Long l) {
                return l.toString();
            }
            throw Py.typeError("keys must be str, int, float, bool or None, not " + Py.typeName(k));
        }

        private void string(String s) {
            sb.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> sb.append("\\\"");
                    case '\\' -> sb.append("\\\\");
                    case '\n' -> sb.append("\\n");
                    case '\r' -> sb.append("\\r");
                    case '\t' -> sb.append("\\t");
                    case '\b' -> sb.append("\\b");
                    case '\f' -> sb.append("\\f");
                    default -> {
                        if (c < 0x20 || (ascii && c > 0x7e)) {
                            sb.append(String.format("\\u%04x", (int) c));
                        } else {
                            sb.append(c);
                        }
                    }
                }
            }
            sb.append('"');
        }
    }
}
