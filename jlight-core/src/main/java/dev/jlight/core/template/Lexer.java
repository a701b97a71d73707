package dev.jlight.core.template;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Jinja2's lexer with the settings HF transformers uses: {@code trim_blocks=True,
 * lstrip_blocks=True}, default delimiters, no line statements, {@code keep_trailing_newline=False}.
 * Whitespace handling follows {@code jinja2.lexer.Lexer.tokeniter} step by step.
 */
final class Lexer {
    /** Python's {@code \s} on str (what {@code str.isspace} accepts). */
    static final String WS = "[\\t\\n\\x0B\\f\\r\\x1C-\\x20\\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]";

    private static final Pattern RAW_BEGIN = Pattern.compile("\\{%(-|\\+|)" + WS + "*raw" + WS + "*(?:-%\\}" + WS + "*|%\\})");
    private static final Pattern RAW_END_TRIM = Pattern.compile(
            "\\{%(-|\\+|)" + WS + "*endraw" + WS + "*(?:\\+%\\}|-%\\}" + WS + "*|%\\}\\n?)");
    private static final Pattern RAW_END_KEEP = Pattern.compile(
            "\\{%(-|\\+|)" + WS + "*endraw" + WS + "*(?:\\+%\\}|-%\\}" + WS + "*|%\\})");
    private static final Pattern SPACES = Pattern.compile(WS + "+");
    private static final Pattern FLOAT = Pattern.compile(
            "(?<!\\.)(\\d+_)*\\d+((\\.(\\d+_)*\\d+)?[eE][+\\-]?(\\d+_)*\\d+|\\.(\\d+_)*\\d+)");
    private static final Pattern INTEGER = Pattern.compile(
            "(0[bB](_?[0-1])+|0[oO](_?[0-7])+|0[xX](_?[\\da-fA-F])+|[1-9](_?\\d)*|0(_?0)*)");
    private static final Pattern NAME = Pattern.compile("[\\w\\p{M}\\u00B7\\u0387]+", Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern STRING = Pattern.compile(
            "('([^'\\\\]*(?:\\\\.[^'\\\\]*)*)'|\"([^\"\\\\]*(?:\\\\.[^\"\\\\]*)*)\")", Pattern.DOTALL);
    private static final String[] OPERATORS = {
        "//", "**", "==", "!=", ">=", "<=",
        "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"
    };
    private static final String[] OPERATOR_NAMES = {
        "floordiv", "pow", "eq", "ne", "gteq", "lteq",
        "add", "sub", "div", "mul", "mod", "tilde", "lbracket", "rbracket", "lparen", "rparen", "lbrace", "rbrace",
        "gt", "lt", "assign", "dot", "colon", "pipe", "comma", "semicolon"
    };

    record Token(String type, Object value, int line, int col) {
        boolean is(String type) {
            return this.type.equals(type);
        }

        /** Jinja's {@code token.test("name:if")}. */
        boolean isName(String name) {
            return type.equals("name") && value.equals(name);
        }

        String describe() {
            return switch (type) {
                case "name" -> value == null ? "name" : String.valueOf(value);
                case "data" -> "template data / text";
                case "eof" -> "end of template";
                case "block_end" -> "end of statement block";
                case "variable_end" -> "end of print statement";
                case "block_begin" -> "begin of statement block";
                case "variable_begin" -> "begin of print statement";
                default -> {
                    for (int i = 0; i < OPERATOR_NAMES.length; i++) {
                        if (OPERATOR_NAMES[i].equals(type)) {
                            yield OPERATORS[i];
                        }
                    }
                    yield type;
                }
            };
        }
    }

    private final String src;
    private final boolean trimBlocks;
    private final boolean lstripBlocks;
    private final int[] lineStarts;
    private final List<Token> out = new ArrayList<>();

    private Lexer(String source, boolean trimBlocks, boolean lstripBlocks) {
        this.src = normalize(source);
        this.trimBlocks = trimBlocks;
        this.lstripBlocks = lstripBlocks;
        List<Integer> starts = new ArrayList<>();
        starts.add(0);
        for (int i = 0; i < src.length(); i++) {
            if (src.charAt(i) == '\n') {
                starts.add(i + 1);
            }
        }
        lineStarts = starts.stream().mapToInt(Integer::intValue).toArray();
    }

    static List<Token> tokenize(String source, boolean trimBlocks, boolean lstripBlocks) {
        Lexer lx = new Lexer(source, trimBlocks, lstripBlocks);
        lx.run();
        return lx.out;
    }

    /** Newlines become \n and one trailing newline goes (keep_trailing_newline=False). */
    private static String normalize(String source) {
        String s = source.replace("\r\n", "\n").replace('\r', '\n');
        if (s.endsWith("\n")) {
            s = s.substring(0, s.length() - 1);
        }
        return s;
    }

    private int lineOf(int offset) {
        int lo = 0;
        int hi = lineStarts.length - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (lineStarts[mid] <= offset) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    private void emit(String type, Object value, int offset) {
        int l = lineOf(offset);
        out.add(new Token(type, value, l + 1, offset - lineStarts[l] + 1));
    }

    private TemplateException error(String msg, int offset) {
        int l = lineOf(Math.min(offset, Math.max(0, src.length())));
        return new TemplateException("TemplateSyntaxError", msg, l + 1, offset - lineStarts[l] + 1);
    }

    private void run() {
        int n = src.length();
        int pos = 0;
        boolean lineStarting = true;
        while (pos < n) {
            int t = findTagStart(pos);
            if (t < 0) {
                emit("data", src.substring(pos), pos);
                break;
            }
            String text = src.substring(pos, t);
            char kind = src.charAt(t + 1);
            Matcher raw = null;
            String sign;
            if (kind == '%') {
                Matcher m = RAW_BEGIN.matcher(src).region(t, n);
                if (m.lookingAt()) {
                    raw = m;
                }
            }
            if (raw != null) {
                sign = raw.group(1);
            } else {
                char c = t + 2 < n ? src.charAt(t + 2) : 0;
                sign = (c == '-' || c == '+') ? String.valueOf(c) : "";
            }
            text = stripBefore(text, sign, kind != '{', lineStarting);
            if (!text.isEmpty()) {
                emit("data", text, pos);
            }
            if (raw != null) {
                pos = raw.end();
                lineStarting = src.charAt(pos - 1) == '\n';
                Matcher end = (trimBlocks ? RAW_END_TRIM : RAW_END_KEEP).matcher(src);
                if (!end.find(pos)) {
                    throw error("Missing end of raw directive", t);
                }
                String body = stripBefore(src.substring(pos, end.start()), end.group(1), true, lineStarting);
                if (!body.isEmpty()) {
                    emit("data", body, pos);
                }
                pos = end.end();
                lineStarting = src.charAt(pos - 1) == '\n';
            } else if (kind == '#') {
                int contentStart = t + 2 + sign.length();
                int i = src.indexOf("#}", contentStart);
                if (i < 0) {
                    throw error("Missing end of comment tag", t);
                }
                int end = i + 2;
                char before = i - 1 >= contentStart ? src.charAt(i - 1) : 0;
                if (before == '-') {
                    end = skipSpaces(end);
                } else if (before != '+' && trimBlocks && end < n && src.charAt(end) == '\n') {
                    end++;
                }
                pos = end;
                lineStarting = src.charAt(pos - 1) == '\n';
            } else {
                boolean block = kind == '%';
                emit(block ? "block_begin" : "variable_begin", null, t);
                pos = tokenizeTag(t + 2 + sign.length(), block, t);
                lineStarting = src.charAt(pos - 1) == '\n';
            }
        }
        emit("eof", null, n);
    }

    private int findTagStart(int from) {
        int i = from;
        while (true) {
            i = src.indexOf('{', i);
            if (i < 0 || i + 1 >= src.length()) {
                return -1;
            }
            char c = src.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') {
                return i;
            }
            i++;
        }
    }

    /** Jinja's OptionalLStrip handling of the text before a tag. */
    private String stripBefore(String text, String sign, boolean lstripApplies, boolean lineStarting) {
        if (sign.equals("-")) {
            return Py.rstripSpace(text);
        }
        if (!sign.equals("+") && lstripBlocks && lstripApplies) {
            int lpos = text.lastIndexOf('\n') + 1;
            if ((lpos > 0 || lineStarting) && Py.isAllSpace(text, lpos)) {
                return text.substring(0, lpos);
            }
        }
        return text;
    }

    private int skipSpaces(int pos) {
        Matcher m = SPACES.matcher(src).region(pos, src.length());
        return m.lookingAt() ? m.end() : pos;
    }

    /** Tokenizes the inside of {{ }} or {% %}; returns the offset after the closing delimiter. */
    private int tokenizeTag(int pos, boolean block, int tagStart) {
        int n = src.length();
        Deque<Character> balance = new ArrayDeque<>();
        while (true) {
            if (pos >= n) {
                throw error("unexpected end of template, expected '" + (block ? "end of statement block" : "end of print statement") + "'.", tagStart);
            }
            if (balance.isEmpty()) {
                int end = matchEnd(pos, block);
                if (end >= 0) {
                    emit(block ? "block_end" : "variable_end", null, pos);
                    return end;
                }
            }
            Matcher m = SPACES.matcher(src).region(pos, n);
            if (m.lookingAt()) {
                pos = m.end();
                continue;
            }
            m = FLOAT.matcher(src).region(pos, n).useTransparentBounds(true).useAnchoringBounds(false);
            if (m.lookingAt()) {
                emit("float", Double.parseDouble(m.group().replace("_", "")), pos);
                pos = m.end();
                continue;
            }
            m = INTEGER.matcher(src).region(pos, n);
            if (m.lookingAt()) {
                emit("integer", parseInt(m.group(), pos), pos);
                pos = m.end();
                continue;
            }
            m = NAME.matcher(src).region(pos, n);
            if (m.lookingAt()) {
                String name = m.group();
                int cp = name.codePointAt(0);
                if (!(Character.isLetter(cp) || cp == '_')) {
                    throw error("Invalid character in identifier", pos);
                }
                emit("name", name, pos);
                pos = m.end();
                continue;
            }
            m = STRING.matcher(src).region(pos, n);
            if (m.lookingAt()) {
                String body = m.group(2) != null ? m.group(2) : m.group(3);
                emit("string", unescape(body, pos), pos);
                pos = m.end();
                continue;
            }
            boolean matched = false;
            for (int i = 0; i < OPERATORS.length; i++) {
                String op = OPERATORS[i];
                if (src.startsWith(op, pos)) {
                    char c = op.charAt(0);
                    if (op.length() == 1 && (c == '{' || c == '(' || c == '[')) {
                        balance.push(c == '{' ? '}' : c == '(' ? ')' : ']');
                    } else if (op.length() == 1 && (c == '}' || c == ')' || c == ']')) {
                        if (balance.isEmpty()) {
                            throw error("unexpected '" + c + "'", pos);
                        }
                        char expected = balance.pop();
                        if (expected != c) {
                            throw error("unexpected '" + c + "', expected '" + expected + "'", pos);
                        }
                    }
                    emit(OPERATOR_NAMES[i], op, pos);
                    pos += op.length();
                    matched = true;
                    break;
                }
            }
            if (!matched) {
                throw error("unexpected char " + Py.repr(src.substring(pos, pos + Character.charCount(src.codePointAt(pos))))
                        + " at " + pos, pos);
            }
        }
    }

    /** The offset after the tag's closing delimiter if one starts at pos, else -1. */
    private int matchEnd(int pos, boolean block) {
        char close = block ? '%' : '}';
        int n = src.length();
        if (block && src.startsWith("+%}", pos)) {
            return pos + 3;
        }
        if (src.startsWith("-" + close + "}", pos)) {
            return skipSpaces(pos + 3);
        }
        if (src.startsWith(close + "}", pos)) {
            int end = pos + 2;
            if (block && trimBlocks && end < n && src.charAt(end) == '\n') {
                end++;
            }
            return end;
        }
        return -1;
    }

    private Object parseInt(String text, int pos) {
        String s = text.replace("_", "").toLowerCase();
        int radix = 10;
        if (s.startsWith("0x")) {
            radix = 16;
            s = s.substring(2);
        } else if (s.startsWith("0o")) {
            radix = 8;
            s = s.substring(2);
        } else if (s.startsWith("0b")) {
            radix = 2;
            s = s.substring(2);
        }
        try {
            return Long.parseLong(s, radix);
        } catch (NumberFormatException e) {
            throw error("integer literal too large", pos);
        }
    }

    /**
     * Python's {@code value.encode("ascii", "backslashreplace").decode("unicode-escape")}, the way
     * Jinja turns string literal bodies into values.
     */
    private String unescape(String body, int pos) {
        if (body.indexOf('\\') < 0) {
            return body;
        }
        StringBuilder sb = new StringBuilder(body.length());
        int i = 0;
        int n = body.length();
        while (i < n) {
            char c = body.charAt(i);
            if (c != '\\') {
                sb.append(c);
                i++;
                continue;
            }
            if (i + 1 >= n) {
                throw error("\\ at end of string", pos);
            }
            char e = body.charAt(i + 1);
            i += 2;
            switch (e) {
                case '\n' -> { }
                case '\\' -> sb.append('\\');
                case '\'' -> sb.append('\'');
                case '"' -> sb.append('"');
                case 'a' -> sb.append('\u0007');
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'n' -> sb.append('\n');
                case 'r' -> sb.append('\r');
                case 't' -> sb.append('\t');
                case 'v' -> sb.append('\u000b');
                case 'x', 'u', 'U' -> {
                    int len = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    if (i + len > n || !isHex(body, i, len)) {
                        throw error("truncated \\" + (e == 'x' ? "xXX" : e == 'u' ? "uXXXX" : "UXXXXXXXX") + " escape", pos);
                    }
                    int cp = (int) Long.parseLong(body.substring(i, i + len), 16);
                    if (cp > 0x10FFFF || cp < 0) {
                        throw error("illegal Unicode character", pos);
                    }
                    sb.appendCodePoint(cp);
                    i += len;
                }
                case 'N' -> {
                    int close = body.indexOf('}', i);
                    if (i >= n || body.charAt(i) != '{' || close < 0) {
                        throw error("malformed \\N character escape", pos);
                    }
                    try {
                        sb.appendCodePoint(Character.codePointOf(body.substring(i + 1, close)));
                    } catch (IllegalArgumentException ex) {
                        throw error("unknown Unicode character name", pos);
                    }
                    i = close + 1;
                }
                default -> {
                    if (e >= '0' && e <= '7') {
                        int v = e - '0';
                        int k = 0;
                        while (k < 2 && i < n && body.charAt(i) >= '0' && body.charAt(i) <= '7') {
                            v = v * 8 + (body.charAt(i) - '0');
                            i++;
                            k++;
                        }
                        sb.appendCodePoint(v);
                    } else if (e > 0x7f) {
                        // backslashreplace turned the non-ASCII char into an escape whose own
                        // backslash the first one escaped: the text of that escape stays.
                        int cp = Character.isHighSurrogate(e) && i < n ? Character.toCodePoint(e, body.charAt(i)) : e;
                        if (Character.charCount(cp) == 2) {
                            i++;
                        }
                        sb.append('\\');
                        sb.append(cp <= 0xff ? String.format("x%02x", cp)
                                : cp <= 0xffff ? String.format("u%04x", cp) : String.format("U%08x", cp));
                    } else {
                        sb.append('\\').append(e);
                    }
                }
            }
        }
        return sb.toString();
    }

    private static boolean isHex(String s, int from, int len) {
        for (int k = from; k < from + len; k++) {
            if (Character.digit(s.charAt(k), 16) < 0) {
                return false;
            }
        }
        return true;
    }
}
