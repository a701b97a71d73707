package dev.jlight.core.template;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.List;
import java.util.Map;

/** Python's printf-style {@code %} formatting, {@code str.format} and the format-spec mini-language. */
final class PyFormat {
    private PyFormat() {}

    // ------------------------------------------------------------ "%s" % args

    static String percent(Interpreter in, String fmt, Object args) {
        List<?> positional;
        Map<?, ?> mapping = null;
        // CPython treats any non-tuple, non-str argument with __getitem__ as a mapping: no
        // "not all arguments converted" error for it
        boolean mappingLike = false;
        if (args instanceof PySeq.Tuple t) {
            positional = t;
        } else {
            positional = List.of(args == null ? NullArg.NULL : args);
            if (args instanceof Map<?, ?> m) {
                mapping = m;
            }
            mappingLike = args instanceof Map || args instanceof List || args instanceof Undefined;
        }
        StringBuilder sb = new StringBuilder();
        int argi = 0;
        int n = fmt.length();
        int i = 0;
        boolean usedMapping = false;
        while (i < n) {
            char c = fmt.charAt(i);
            if (c != '%') {
                sb.append(c);
                i++;
                continue;
            }
            i++;
            if (i >= n) {
                throw Py.valueError("incomplete format");
            }
            Object value = null;
            boolean haveValue = false;
            if (fmt.charAt(i) == '(') {
                if (mapping == null) {
                    throw Py.typeError("format requires a mapping");
                }
                int depth = 1;
                int j = i + 1;
                while (j < n && depth > 0) {
                    if (fmt.charAt(j) == '(') {
                        depth++;
                    } else if (fmt.charAt(j) == ')') {
                        depth--;
                    }
                    j++;
                }
                if (depth > 0) {
                    throw Py.valueError("incomplete format key");
                }
                String key = fmt.substring(i + 1, j - 1);
                Object k = Py.findKey(mapping, key);
                if (k == Py.NO_KEY) {
                    throw new TemplateException("KeyError", Py.repr(key));
                }
                value = mapping.get(k);
                haveValue = true;
                usedMapping = true;
                i = j;
            }
            String flags = "";
            while (i < n && "-+ #0".indexOf(fmt.charAt(i)) >= 0) {
                flags += fmt.charAt(i++);
            }
            int width = -1;
            if (i < n && fmt.charAt(i) == '*') {
                width = (int) Py.toLong(next(positional, argi++));
                if (width < 0) {
                    flags += "-";
                    width = -width;
                }
                i++;
            } else {
                int st = i;
                while (i < n && Character.isDigit(fmt.charAt(i))) {
                    i++;
                }
                if (i > st) {
                    width = Integer.parseInt(fmt.substring(st, i));
                }
            }
            int prec = -1;
            if (i < n && fmt.charAt(i) == '.') {
                i++;
                if (i < n && fmt.charAt(i) == '*') {
                    prec = (int) Py.toLong(next(positional, argi++));
                    i++;
                } else {
                    int st = i;
                    while (i < n && Character.isDigit(fmt.charAt(i))) {
                        i++;
                    }
                    prec = i > st ? Integer.parseInt(fmt.substring(st, i)) : 0;
                }
            }
            while (i < n && "hlL".indexOf(fmt.charAt(i)) >= 0) {
                i++;
            }
            if (i >= n) {
                throw Py.valueError("incomplete format");
            }
            char type = fmt.charAt(i++);
            if (type == '%') {
                sb.append('%');
                continue;
            }
            if (!haveValue) {
                value = next(positional, argi++);
            }
            if (value == NullArg.NULL) {
                value = null;
            }
            if (width > 0) {
                in.limits.checkSize(width);
            }
            sb.append(percentOne(value, type, flags, width, prec));
            in.limits.checkSize(sb.length());
        }
        if (argi < positional.size() && !usedMapping && !mappingLike) {
            throw Py.typeError("not all arguments converted during string formatting");
        }
        return sb.toString();
    }

    private enum NullArg { NULL }

    private static Object next(List<?> args, int i) {
        if (i >= args.size()) {
            throw Py.typeError("not enough arguments for format string");
        }
        return args.get(i);
    }

    private static String percentOne(Object value, char type, String flags, int width, int prec) {
        boolean left = flags.indexOf('-') >= 0;
        boolean zero = flags.indexOf('0') >= 0 && !left;
        String sign = flags.indexOf('+') >= 0 ? "+" : flags.indexOf(' ') >= 0 ? " " : "";
        boolean alt = flags.indexOf('#') >= 0;
        String body;
        switch (type) {
            case 's', 'r', 'a' -> {
                body = type == 's' ? Py.str(value) : Py.repr(value);
                if (prec >= 0 && Py.cpLen(body) > prec) {
                    body = body.substring(0, body.offsetByCodePoints(0, prec));
                }
            }
            case 'c' -> {
                if (value instanceof String s && Py.cpLen(s) == 1) {
                    body = s;
                } else if (Py.isInt(value)) {
                    body = new String(Character.toChars((int) Py.toLong(value)));
                } else {
                    throw Py.typeError("%c requires int or char");
                }
            }
            case 'd', 'i', 'u', 'o', 'x', 'X' -> {
                long v = integerArg(value, type);
                String digits = switch (type) {
                    case 'o' -> Long.toOctalString(Math.abs(v));
                    case 'x' -> Long.toHexString(Math.abs(v));
                    case 'X' -> Long.toHexString(Math.abs(v)).toUpperCase();
                    default -> Long.toString(Math.abs(v));
                };
                if (v == Long.MIN_VALUE) {
                    digits = digits.replace("-", "");
                }
                if (prec >= 0 && digits.length() < prec) {
                    digits = "0".repeat(prec - digits.length()) + digits;
                }
                String prefix = alt ? (type == 'o' ? "0o" : type == 'x' ? "0x" : type == 'X' ? "0X" : "") : "";
                return padNumber(v < 0 ? "-" : sign, prefix, digits, width, left, zero);
            }
            case 'e', 'E', 'f', 'F', 'g', 'G' -> {
                double v = floatArg(value, type);
                String digits = formatFloat(Math.abs(v), type, prec < 0 ? 6 : prec, alt);
                boolean neg = v < 0 || (v == 0 && 1 / v < 0);
                if (Double.isNaN(v)) {
                    neg = false;
                }
                return padNumber(neg ? "-" : sign, "", digits, width, left, zero && Double.isFinite(v));
            }
            default -> throw Py.valueError("unsupported format character '" + type + "' (0x"
                    + Integer.toHexString(type) + ")");
        }
        if (width > 0 && Py.cpLen(body) < width) {
            String pad = " ".repeat(width - Py.cpLen(body));
            body = left ? body + pad : pad + body;
        }
        return body;
    }

    private static long integerArg(Object value, char type) {
        if (Py.isInt(value)) {
            return Py.toLong(value);
        }
        if (value instanceof Double d) {
            if (type == 'd' || type == 'i' || type == 'u') {
                if (!Double.isFinite(d)) {
                    throw new TemplateException("OverflowError", "cannot convert float infinity to integer");
                }
                return (long) (double) d;
            }
            throw Py.typeError("%" + type + " format: an integer is required, not float");
        }
        Py.checkDefined(value);
        throw Py.typeError("%" + type + " format: " + (type == 'd' || type == 'i' || type == 'u' ? "a real number" : "an integer")
                + " is required, not " + Py.typeName(value));
    }

    private static double floatArg(Object value, char type) {
        if (Py.isNumber(value)) {
            return Py.toDouble(value);
        }
        Py.checkDefined(value);
        throw Py.typeError("must be real number, not " + Py.typeName(value));
    }

    private static String padNumber(String sign, String prefix, String digits, int width, boolean left, boolean zero) {
        int len = sign.length() + prefix.length() + digits.length();
        if (width <= len) {
            return sign + prefix + digits;
        }
        String pad = (zero ? "0" : " ").repeat(width - len);
        if (left) {
            return sign + prefix + digits + " ".repeat(width - len);
        }
        return zero ? sign + prefix + pad + digits : pad + sign + prefix + digits;
    }

    /** Formats a non-negative double like C/Python %e, %f, %g (correctly rounded). */
    static String formatFloat(double v, char type, int prec, boolean alt) {
        boolean upper = Character.isUpperCase(type);
        if (Double.isNaN(v)) {
            return upper ? "NAN" : "nan";
        }
        if (Double.isInfinite(v)) {
            return upper ? "INF" : "inf";
        }
        switch (Character.toLowerCase(type)) {
            case 'f': {
                String s = new BigDecimal(v).setScale(prec, RoundingMode.HALF_EVEN).toPlainString();
                return alt && prec == 0 ? s + "." : s;
            }
            case 'e': {
                String s = expFormat(v, prec, alt);
                return upper ? s.toUpperCase() : s;
            }
            default: {
                int p = prec == 0 ? 1 : prec;
                int exp;
                if (v == 0) {
                    exp = 0;
                } else {
                    BigDecimal r = new BigDecimal(v).round(new MathContext(p, RoundingMode.HALF_EVEN));
                    exp = r.precision() - r.scale() - 1;
                }
                String s;
                if (exp >= -4 && exp < p) {
                    s = new BigDecimal(v).setScale(p - 1 - exp, RoundingMode.HALF_EVEN).toPlainString();
                    if (!alt) {
                        s = stripZeros(s);
                    } else if (s.indexOf('.') < 0) {
                        s = s + ".";
                    }
                } else {
                    s = expFormat(v, p - 1, alt);
                    if (!alt) {
                        int e = s.indexOf('e');
                        s = stripZeros(s.substring(0, e)) + s.substring(e);
                    }
                }
                return upper ? s.toUpperCase() : s;
            }
        }
    }

    private static String stripZeros(String s) {
        if (s.indexOf('.') < 0) {
            return s;
        }
        int end = s.length();
        while (s.charAt(end - 1) == '0') {
            end--;
        }
        if (s.charAt(end - 1) == '.') {
            end--;
        }
        return s.substring(0, end);
    }

    private static String expFormat(double v, int prec, boolean alt) {
        String mant;
        int exp;
        if (v == 0) {
            mant = prec > 0 ? "0." + "0".repeat(prec) : "0";
            exp = 0;
        } else {
            BigDecimal r = new BigDecimal(v).round(new MathContext(prec + 1, RoundingMode.HALF_EVEN));
            exp = r.precision() - r.scale() - 1;
            String digits = r.unscaledValue().toString();
            if (digits.length() < prec + 1) {
                digits = digits + "0".repeat(prec + 1 - digits.length());
            }
            digits = digits.substring(0, prec + 1);
            mant = prec > 0 ? digits.charAt(0) + "." + digits.substring(1) : digits;
        }
        if (alt && prec == 0) {
            mant = mant + ".";
        }
        return mant + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
    }

    // ------------------------------------------------------------ str.format

    static String strFormat(Interpreter in, String fmt, List<Object> args, Map<String, Object> kwargs) {
        StringBuilder sb = new StringBuilder();
        int[] auto = {0};
        formatInto(in, sb, fmt, args, kwargs, auto, 0);
        return sb.toString();
    }

    private static void formatInto(Interpreter in, StringBuilder sb, String fmt, List<Object> args,
                                   Map<String, Object> kwargs, int[] auto, int depth) {
        if (depth > 2) {
            throw Py.valueError("Max string recursion exceeded");
        }
        int n = fmt.length();
        int i = 0;
        while (i < n) {
            char c = fmt.charAt(i);
            if (c == '{') {
                if (i + 1 < n && fmt.charAt(i + 1) == '{') {
                    sb.append('{');
                    i += 2;
                    continue;
                }
                int j = i + 1;
                int level = 1;
                while (j < n && level > 0) {
                    char cj = fmt.charAt(j);
                    if (cj == '{') {
                        level++;
                    } else if (cj == '}') {
                        level--;
                    }
                    j++;
                }
                if (level > 0) {
                    throw Py.valueError("expected '}' before end of string");
                }
                String field = fmt.substring(i + 1, j - 1);
                sb.append(formatField(in, field, args, kwargs, auto, depth));
                in.limits.checkSize(sb.length());
                i = j;
            } else if (c == '}') {
                if (i + 1 < n && fmt.charAt(i + 1) == '}') {
                    sb.append('}');
                    i += 2;
                    continue;
                }
                throw Py.valueError("Single '}' encountered in format string");
            } else {
                sb.append(c);
                i++;
            }
        }
    }

    private static String formatField(Interpreter in, String field, List<Object> args, Map<String, Object> kwargs,
                                      int[] auto, int depth) {
        String name = field;
        String conv = null;
        String spec = "";
        int colon = -1;
        int bang = -1;
        int bracket = 0;
        for (int k = 0; k < field.length(); k++) {
            char c = field.charAt(k);
            if (c == '[') {
                bracket++;
            } else if (c == ']') {
                bracket--;
            } else if (bracket == 0 && c == '!' && bang < 0 && colon < 0) {
                bang = k;
            } else if (bracket == 0 && c == ':' && colon < 0) {
                colon = k;
                break;
            }
        }
        if (colon >= 0) {
            spec = field.substring(colon + 1);
            name = field.substring(0, colon);
        }
        if (bang >= 0) {
            conv = name.substring(bang + 1);
            name = name.substring(0, bang);
        }
        int end = 0;
        while (end < name.length() && name.charAt(end) != '.' && name.charAt(end) != '[') {
            end++;
        }
        String first = name.substring(0, end);
        Object value;
        if (first.isEmpty()) {
            if (auto[0] < 0) {
                throw Py.valueError("cannot switch from manual field specification to automatic field numbering");
            }
            value = positional(args, auto[0]++);
        } else if (first.chars().allMatch(Character::isDigit)) {
            if (auto[0] > 0) {
                throw Py.valueError("cannot switch from automatic field numbering to manual field specification");
            }
            auto[0] = -1;
            value = positional(args, Integer.parseInt(first));
        } else {
            if (!kwargs.containsKey(first)) {
                throw new TemplateException("KeyError", Py.repr(first));
            }
            value = kwargs.get(first);
        }
        int k = end;
        while (k < name.length()) {
            if (name.charAt(k) == '.') {
                int e = k + 1;
                while (e < name.length() && name.charAt(e) != '.' && name.charAt(e) != '[') {
                    e++;
                }
                value = in.getattr(value, name.substring(k + 1, e));
                k = e;
            } else {
                int e = name.indexOf(']', k);
                if (e < 0) {
                    throw Py.valueError("Missing ']' in format string");
                }
                String key = name.substring(k + 1, e);
                value = in.getitem(value, key.chars().allMatch(Character::isDigit) && !key.isEmpty()
                        ? (Object) Long.parseLong(key) : key);
                k = e + 1;
            }
        }
        if (conv != null) {
            value = switch (conv) {
                case "s" -> Py.str(value);
                case "r", "a" -> Py.repr(value);
                default -> throw Py.valueError("Unknown conversion specifier " + conv);
            };
        }
        if (spec.indexOf('{') >= 0) {
            StringBuilder nested = new StringBuilder();
            formatInto(in, nested, spec, args, kwargs, auto, depth + 1);
            spec = nested.toString();
        }
        return formatSpec(in, value, spec);
    }

    private static Object positional(List<Object> args, int i) {
        if (i >= args.size()) {
            throw new TemplateException("IndexError",
                    "Replacement index " + i + " out of range for positional args tuple");
        }
        return args.get(i);
    }

    /** Python's {@code format(value, spec)}. */
    static String formatSpec(Interpreter in, Object value, String spec) {
        if (value instanceof Undefined u) {
            if (spec.isEmpty()) {
                return "";
            }
            throw u.error();
        }
        if (spec.isEmpty()) {
            return Py.str(value);
        }
        int i = 0;
        int n = spec.length();
        String fill = " ";
        char align = 0;
        if (n >= 2 && "<>=^".indexOf(spec.charAt(spec.offsetByCodePoints(0, 1))) >= 0) {
            int off = spec.offsetByCodePoints(0, 1);
            fill = spec.substring(0, off);
            align = spec.charAt(off);
            i = off + 1;
        } else if ("<>=^".indexOf(spec.charAt(0)) >= 0) {
            align = spec.charAt(0);
            i = 1;
        }
        char sign = 0;
        if (i < n && "+- ".indexOf(spec.charAt(i)) >= 0) {
            sign = spec.charAt(i++);
        }
        if (i < n && spec.charAt(i) == 'z') {
            i++;
        }
        boolean alt = false;
        if (i < n && spec.charAt(i) == '#') {
            alt = true;
            i++;
        }
        if (i < n && spec.charAt(i) == '0') {
            if (align == 0) {
                fill = "0";
                align = '=';
            }
            i++;
        }
        int st = i;
        while (i < n && Character.isDigit(spec.charAt(i))) {
            i++;
        }
        int width = i > st ? Integer.parseInt(spec.substring(st, i)) : -1;
        char grouping = 0;
        if (i < n && (spec.charAt(i) == ',' || spec.charAt(i) == '_')) {
            grouping = spec.charAt(i++);
        }
        int prec = -1;
        if (i < n && spec.charAt(i) == '.') {
            i++;
            st = i;
            while (i < n && Character.isDigit(spec.charAt(i))) {
                i++;
            }
            if (i == st) {
                throw Py.valueError("Format specifier missing precision");
            }
            prec = Integer.parseInt(spec.substring(st, i));
        }
        char type = 0;
        if (i < n) {
            type = spec.charAt(i++);
        }
        if (i < n) {
            throw Py.valueError("Invalid format specifier '" + spec + "' for object of type '" + Py.typeName(value) + "'");
        }
        if (width > 0) {
            in.limits.checkSize(width);
        }
        String body;
        String signStr = "";
        boolean numeric;
        if (value instanceof String s) {
            if (type != 0 && type != 's') {
                throw Py.valueError("Unknown format code '" + type + "' for object of type 'str'");
            }
            if (sign != 0) {
                throw Py.valueError("Sign not allowed in string format specifier");
            }
            body = prec >= 0 && Py.cpLen(s) > prec ? s.substring(0, s.offsetByCodePoints(0, prec)) : s;
            numeric = false;
            if (align == 0) {
                align = '<';
            }
        } else if (Py.isNumber(value)) {
            numeric = true;
            boolean isFloat = value instanceof Double;
            char t = type;
            if (!isFloat && (t == 0 || "dnbcoxX".indexOf(t) >= 0)) {
                long v = Py.toLong(value);
                if (t == 'c') {
                    body = new String(Character.toChars((int) v));
                    numeric = false;
                } else {
                    String digits = switch (t) {
                        case 'b' -> Long.toBinaryString(Math.abs(v));
                        case 'o' -> Long.toOctalString(Math.abs(v));
                        case 'x' -> Long.toHexString(Math.abs(v));
                        case 'X' -> Long.toHexString(Math.abs(v)).toUpperCase();
                        default -> Long.toString(Math.abs(v));
                    };
                    if (grouping != 0) {
                        digits = group(digits, grouping, t == 0 || t == 'd' || t == 'n' ? 3 : 4);
                    }
                    if (alt) {
                        digits = (t == 'b' ? "0b" : t == 'o' ? "0o" : t == 'x' ? "0x" : t == 'X' ? "0X" : "") + digits;
                    }
                    body = digits;
                    signStr = v < 0 ? "-" : sign == '+' ? "+" : sign == ' ' ? " " : "";
                }
            } else if ("eEfFgG%".indexOf(t) >= 0 || t == 0) {
                double v = Py.toDouble(value);
                String digits;
                if (t == 0 && prec < 0) {
                    digits = Py.floatRepr(Math.abs(v));
                } else if (t == 0) {
                    digits = formatFloat(Math.abs(v), 'g', prec, alt);
                } else if (t == '%') {
                    digits = formatFloat(Math.abs(v) * 100, 'f', prec < 0 ? 6 : prec, alt) + "%";
                } else {
                    digits = formatFloat(Math.abs(v), t, prec < 0 ? 6 : prec, alt);
                }
                if (grouping != 0) {
                    int dot = digits.indexOf('.');
                    int intEnd = dot >= 0 ? dot : digits.indexOf('e') >= 0 ? digits.indexOf('e') : digits.length();
                    digits = group(digits.substring(0, intEnd), grouping, 3) + digits.substring(intEnd);
                }
                body = digits;
                boolean neg = v < 0 || (v == 0 && 1 / v < 0);
                signStr = neg ? "-" : sign == '+' ? "+" : sign == ' ' ? " " : "";
            } else {
                throw Py.valueError("Unknown format code '" + t + "' for object of type '" + Py.typeName(value) + "'");
            }
            if (align == 0) {
                align = '>';
            }
        } else {
            if (!spec.isEmpty() && (type != 0 || sign != 0 || prec >= 0)) {
                throw Py.typeError("unsupported format string passed to " + Py.typeName(value) + ".__format__");
            }
            body = Py.str(value);
            numeric = false;
            if (align == 0) {
                align = '<';
            }
        }
        int len = Py.cpLen(signStr) + Py.cpLen(body);
        if (width <= len) {
            return signStr + body;
        }
        int padN = width - len;
        switch (align) {
            case '<':
                return signStr + body + fill.repeat(padN);
            case '^':
                return fill.repeat(padN / 2) + signStr + body + fill.repeat(padN - padN / 2);
            case '=':
                if (!numeric) {
                    throw Py.valueError("'=' alignment not allowed in string format specifier");
                }
                return signStr + fill.repeat(padN) + body;
            default:
                return fill.repeat(padN) + signStr + body;
        }
    }

    private static String group(String digits, char sep, int every) {
        StringBuilder sb = new StringBuilder();
        int n = digits.length();
        for (int k = 0; k < n; k++) {
            if (k > 0 && (n - k) % every == 0) {
                sb.append(sep);
            }
            sb.append(digits.charAt(k));
        }
        return sb.toString();
    }
}
