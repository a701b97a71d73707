package dev.jlight.core.template;

import java.util.List;
import java.util.Map;
import java.util.Set;

/** Jinja2's builtin tests ({@code x is defined}, {@code x is string}, ...). */
final class Tests {
    private Tests() {}

    static final Set<String> NAMES = Set.of("odd", "even", "divisibleby", "defined", "undefined", "filter", "test",
            "none", "boolean", "false", "true", "integer", "float", "lower", "upper", "string", "mapping", "number",
            "sequence", "iterable", "callable", "sameas", "escaped", "in", "==", "eq", "equalto", "!=", "ne", ">", "gt",
            "greaterthan", "ge", ">=", "<", "lt", "lessthan", "<=", "le");

    static boolean apply(Interpreter in, String name, Object v, List<Object> args, Map<String, Object> kwargs) {
        CallArgs a = new CallArgs(name, args, kwargs);
        if (name.equals("string")) {
            return v instanceof String || v instanceof Markup;
        }
        if (name.equals("escaped")) {
            return v instanceof Markup;
        }
        v = Py.unwrap(v);
        switch (name) {
            case "defined":
                return !(v instanceof Undefined);
            case "undefined":
                return v instanceof Undefined;
            case "none":
                return v == null;
            case "boolean":
                return v instanceof Boolean;
            case "true":
                return Boolean.TRUE.equals(v);
            case "false":
                return Boolean.FALSE.equals(v);
            case "integer":
                return v instanceof Long;
            case "float":
                return v instanceof Double;
            case "number":
                return Py.isNumber(v);
            case "string":
                return v instanceof String;
            case "mapping":
                return v instanceof Map;
            case "iterable":
                return Py.isIterable(v);
            case "sequence":
                return v instanceof String || v instanceof List || v instanceof Map || v instanceof Undefined;
            case "callable":
                // Undefined has __call__ (it raises), so Python's callable() says True
                return v instanceof Undefined || (v instanceof PyCallable && !(v instanceof Builtins.Cycler c && !isJoiner(c)));
            case "escaped":
                return false;
            case "lower":
                return (Boolean) Methods.invoke(in, Py.str(v), "islower", new CallArgs("islower", List.of(), Map.of()));
            case "upper":
                return (Boolean) Methods.invoke(in, Py.str(v), "isupper", new CallArgs("isupper", List.of(), Map.of()));
            case "odd":
                return Py.eq(in.mod(v, 2L), 1L);
            case "even":
                return Py.eq(in.mod(v, 2L), 0L);
            case "divisibleby":
                return Py.eq(in.mod(v, a.required(0, "num")), 0L);
            case "sameas": {
                Object o = a.required(0, "other");
                if (v == null || o == null || v instanceof Boolean || o instanceof Boolean) {
                    return v == o || (v instanceof Boolean && v.equals(o));
                }
                if (v instanceof Long x && o instanceof Long y) {
                    return x.longValue() == y.longValue() && x >= -5 && x <= 256;
                }
                return v == o;
            }
            case "in":
                return Py.contains(a.required(0, "seq"), v);
            case "filter":
                return v instanceof String s && Filters.NAMES.contains(s);
            case "test":
                return v instanceof String s && NAMES.contains(s);
            case "==", "eq", "equalto":
                return Py.eq(v, a.required(0, "other"));
            case "!=", "ne":
                return !Py.eq(v, a.required(0, "other"));
            case ">", "gt", "greaterthan":
                return Py.compare("gt", v, a.required(0, "other"));
            case ">=", "ge":
                return Py.compare("gteq", v, a.required(0, "other"));
            case "<", "lt", "lessthan":
                return Py.compare("lt", v, a.required(0, "other"));
            case "<=", "le":
                return Py.compare("lteq", v, a.required(0, "other"));
            default:
                throw new TemplateException("TemplateRuntimeError", "No test named " + Py.repr(name) + " found.");
        }
    }

    private static boolean isJoiner(Builtins.Cycler c) {
        return c.repr().contains("Joiner");
    }
}
