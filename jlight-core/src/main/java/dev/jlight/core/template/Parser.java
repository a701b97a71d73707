package dev.jlight.core.template;

import dev.jlight.core.template.Lexer.Token;
import dev.jlight.core.template.Node.Expr;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** A port of {@code jinja2.parser.Parser} for the statements chat templates use. */
final class Parser {
    private static final int MAX_DEPTH = 400;
    private static final Set<String> COMPARE_OPS = Set.of("eq", "ne", "lt", "lteq", "gt", "gteq");
    private static final Set<String> UNSUPPORTED = Set.of("block", "extends", "include", "import", "from", "autoescape");

    private final List<Token> tokens;
    private int p;
    private int depth;
    private int loopDepth;
    private final List<String> tagStack = new ArrayList<>();
    private final List<List<String>> endTokenStack = new ArrayList<>();

    private Parser(List<Token> tokens) {
        this.tokens = tokens;
    }

    static List<Node> parse(String source) {
        Parser parser = new Parser(Lexer.tokenize(source, true, true));
        List<Node> body = parser.subparse(null);
        return body;
    }

    // ------------------------------------------------------------ token stream

    private Token cur() {
        return tokens.get(p);
    }

    private Token look() {
        return tokens.get(Math.min(p + 1, tokens.size() - 1));
    }

    private Token next() {
        Token t = tokens.get(p);
        if (p < tokens.size() - 1) {
            p++;
        }
        return t;
    }

    private boolean skipIf(String type) {
        if (cur().is(type)) {
            next();
            return true;
        }
        return false;
    }

    private boolean skipName(String name) {
        if (cur().isName(name)) {
            next();
            return true;
        }
        return false;
    }

    private static String describeExpr(String expr) {
        if (expr.startsWith("name:")) {
            return expr.substring(5);
        }
        return new Token(expr, null, 0, 0).describe();
    }

    private Token expect(String expr) {
        Token t = cur();
        boolean ok = expr.startsWith("name:") ? t.isName(expr.substring(5)) : t.is(expr);
        if (!ok) {
            if (t.is("eof")) {
                throw fail("unexpected end of template, expected " + Py.repr(describeExpr(expr)) + ".", t);
            }
            throw fail("expected token " + Py.repr(describeExpr(expr)) + ", got " + Py.repr(t.describe()), t);
        }
        return next();
    }

    private TemplateException fail(String msg, Token at) {
        return new TemplateException("TemplateSyntaxError", msg, at.line(), at.col());
    }

    private TemplateException failUnknownOrEof(String name, Token at) {
        Set<String> expected = new LinkedHashSet<>();
        for (List<String> exprs : endTokenStack) {
            for (String e : exprs) {
                expected.add(describeExpr(e));
            }
        }
        String looking = null;
        if (!endTokenStack.isEmpty()) {
            List<String> parts = new ArrayList<>();
            for (String e : endTokenStack.get(endTokenStack.size() - 1)) {
                parts.add(Py.repr(describeExpr(e)));
            }
            looking = String.join(" or ", parts);
        }
        StringBuilder msg = new StringBuilder(name == null ? "Unexpected end of template."
                : "Encountered unknown tag " + Py.repr(name) + ".");
        if (looking != null) {
            if (name != null && expected.contains(name)) {
                msg.append(" You probably made a nesting mistake. Jinja is expecting this tag, but currently looking for ")
                        .append(looking).append('.');
            } else {
                msg.append(" Jinja was looking for the following tags: ").append(looking).append('.');
            }
        }
        if (!tagStack.isEmpty()) {
            msg.append(" The innermost block that needs to be closed is ")
                    .append(Py.repr(tagStack.get(tagStack.size() - 1))).append('.');
        }
        return fail(msg.toString(), at);
    }

    private void enter(Token at) {
        if (++depth > MAX_DEPTH) {
            throw fail("template nesting too deep (more than " + MAX_DEPTH + " levels)", at);
        }
    }

    // ------------------------------------------------------------ statements

    private List<Node> subparse(List<String> endTokens) {
        List<Node> body = new ArrayList<>();
        if (endTokens != null) {
            endTokenStack.add(endTokens);
        }
        try {
            while (!cur().is("eof")) {
                Token t = cur();
                switch (t.type()) {
                    case "data" -> {
                        body.add(new Node.Text(t.line(), t.col(), (String) t.value()));
                        next();
                    }
                    case "variable_begin" -> {
                        next();
                        Expr e = parseTuple(false, true, null, false, false);
                        body.add(new Node.Output(e.line(), e.col(), e));
                        expect("variable_end");
                    }
                    case "block_begin" -> {
                        next();
                        if (endTokens != null) {
                            for (String e : endTokens) {
                                if (cur().isName(e.substring(5))) {
                                    return body;
                                }
                            }
                        }
                        body.add(parseStatement());
                        expect("block_end");
                    }
                    default -> throw fail("internal parsing error", t);
                }
            }
            return body;
        } finally {
            if (endTokens != null) {
                endTokenStack.remove(endTokenStack.size() - 1);
            }
        }
    }

    private List<Node> parseStatements(List<String> endTokens, boolean dropNeedle) {
        skipIf("colon");
        expect("block_end");
        List<Node> result = subparse(endTokens);
        if (cur().is("eof")) {
            endTokenStack.add(endTokens);
            try {
                throw failUnknownOrEof(null, cur());
            } finally {
                endTokenStack.remove(endTokenStack.size() - 1);
            }
        }
        if (dropNeedle) {
            next();
        }
        return result;
    }

    private Node parseStatement() {
        Token t = cur();
        if (!t.is("name")) {
            throw fail("tag name expected", t);
        }
        String name = (String) t.value();
        tagStack.add(name);
        boolean pop = true;
        enter(t);
        try {
            switch (name) {
                case "for":
                    return parseFor();
                case "if":
                    return parseIf();
                case "set":
                    return parseSet();
                case "macro":
                    return parseMacro();
                case "call":
                    return parseCallBlock();
                case "filter":
                    return parseFilterBlock();
                case "with":
                    return parseWith();
                case "print": {
                    next();
                    Expr e = parseTuple(false, true, null, false, false);
                    return new Node.Output(t.line(), t.col(), e);
                }
                case "generation": {
                    next();
                    List<Node> body = parseStatements(List.of("name:endgeneration"), true);
                    return new Node.Generation(t.line(), t.col(), body);
                }
                case "break":
                case "continue": {
                    next();
                    if (loopDepth == 0) {
                        throw new TemplateException("SyntaxError", name.equals("break") ? "'break' outside loop"
                                : "'continue' not properly in loop", t.line(), t.col());
                    }
                    return name.equals("break") ? new Node.Break(t.line(), t.col()) : new Node.Continue(t.line(), t.col());
                }
                default:
                    if (UNSUPPORTED.contains(name)) {
                        throw fail("the '" + name + "' tag is not supported in chat templates", t);
                    }
                    tagStack.remove(tagStack.size() - 1);
                    pop = false;
                    throw failUnknownOrEof(name, t);
            }
        } finally {
            depth--;
            if (pop) {
                tagStack.remove(tagStack.size() - 1);
            }
        }
    }

    private Node parseFor() {
        Token t = expect("name:for");
        Expr target = parseAssignTarget(true, false, List.of("name:in"), false);
        expect("name:in");
        Expr iter = parseTuple(false, false, List.of("name:recursive"), false, false);
        Expr test = null;
        if (skipName("if")) {
            test = parseExpression(true);
        }
        boolean recursive = skipName("recursive");
        loopDepth++;
        List<Node> body;
        try {
            body = parseStatements(List.of("name:endfor", "name:else"), false);
        } finally {
            loopDepth--;
        }
        List<Node> orElse;
        if (next().value().equals("endfor")) {
            orElse = List.of();
        } else {
            orElse = parseStatements(List.of("name:endfor"), true);
        }
        return new Node.For(t.line(), t.col(), target, iter, test, recursive, body, orElse);
    }

    private Node parseIf() {
        Token t = expect("name:if");
        List<Expr> tests = new ArrayList<>();
        List<List<Node>> bodies = new ArrayList<>();
        List<Node> orElse = List.of();
        while (true) {
            tests.add(parseTuple(false, false, null, false, false));
            bodies.add(parseStatements(List.of("name:elif", "name:else", "name:endif"), false));
            Token tok = next();
            if (tok.isName("elif")) {
                continue;
            } else if (tok.isName("else")) {
                orElse = parseStatements(List.of("name:endif"), true);
            }
            break;
        }
        return new Node.If(t.line(), t.col(), tests, bodies, orElse);
    }

    private Node parseSet() {
        Token t = next();
        Expr target = parseAssignTarget(true, false, null, true);
        if (skipIf("assign")) {
            Expr value = parseTuple(false, true, null, false, false);
            return new Node.Set(t.line(), t.col(), target, value);
        }
        Expr filter = parseFilter(null, false);
        List<Node> body = parseStatements(List.of("name:endset"), true);
        return new Node.SetBlock(t.line(), t.col(), target, filter, body);
    }

    private Node parseWith() {
        Token t = next();
        List<Expr> targets = new ArrayList<>();
        List<Expr> values = new ArrayList<>();
        while (!cur().is("block_end")) {
            if (!targets.isEmpty()) {
                expect("comma");
            }
            targets.add(parseAssignTarget(true, false, null, false));
            expect("assign");
            values.add(parseExpression(true));
        }
        List<Node> body = parseStatements(List.of("name:endwith"), true);
        return new Node.With(t.line(), t.col(), targets, values, body);
    }

    private record Signature(List<String> params, List<Expr> defaults) {}

    private Signature parseSignature() {
        List<String> params = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        expect("lparen");
        while (!cur().is("rparen")) {
            if (!params.isEmpty()) {
                expect("comma");
            }
            Token name = expect("name");
            if (skipIf("assign")) {
                defaults.add(parseExpression(true));
            } else if (!defaults.isEmpty()) {
                throw fail("non-default argument follows default argument", name);
            }
            params.add((String) name.value());
        }
        expect("rparen");
        return new Signature(params, defaults);
    }

    private Node.MacroDef macroDef(Token t, String name, Signature sig, List<Node> body) {
        Set<String> names = new java.util.HashSet<>();
        collectNames(body, names);
        for (Expr d : sig.defaults()) {
            collectNames(d, names);
        }
        return new Node.MacroDef(t.line(), t.col(), name, sig.params(), sig.defaults(), body,
                names.contains("caller"), names.contains("varargs"), names.contains("kwargs"));
    }

    private Node parseMacro() {
        Token t = next();
        String name = (String) expect("name").value();
        Signature sig = parseSignature();
        int saved = loopDepth;
        loopDepth = 0;
        List<Node> body;
        try {
            body = parseStatements(List.of("name:endmacro"), true);
        } finally {
            loopDepth = saved;
        }
        return macroDef(t, name, sig, body);
    }

    private Node parseCallBlock() {
        Token t = next();
        Signature sig = cur().is("lparen") ? parseSignature() : new Signature(List.of(), List.of());
        Expr call = parseExpression(true);
        if (!(call instanceof Expr.Call c)) {
            throw fail("expected call", t);
        }
        int saved = loopDepth;
        loopDepth = 0;
        List<Node> body;
        try {
            body = parseStatements(List.of("name:endcall"), true);
        } finally {
            loopDepth = saved;
        }
        return new Node.CallBlock(t.line(), t.col(), c, macroDef(t, "caller", sig, body));
    }

    private Node parseFilterBlock() {
        Token t = next();
        Expr filter = parseFilter(null, true);
        List<Node> body = parseStatements(List.of("name:endfilter"), true);
        return new Node.FilterBlock(t.line(), t.col(), filter, body);
    }

    private Expr parseAssignTarget(boolean withTuple, boolean nameOnly, List<String> extraEnd, boolean withNamespace) {
        Expr target;
        if (nameOnly) {
            Token t = expect("name");
            target = new Expr.Name(t.line(), t.col(), (String) t.value());
        } else if (withTuple) {
            target = parseTuple(true, true, extraEnd, false, withNamespace);
        } else {
            target = parsePrimary(withNamespace);
        }
        if (!canAssign(target)) {
            throw fail("can't assign to " + Py.repr(kindName(target)), cur());
        }
        return target;
    }

    private static boolean canAssign(Expr e) {
        if (e instanceof Expr.Name n) {
            return !List.of("true", "false", "none", "True", "False", "None").contains(n.name());
        }
        if (e instanceof Expr.NsRef) {
            return true;
        }
        if (e instanceof Expr.TupleLit t) {
            for (Expr item : t.items()) {
                if (!canAssign(item)) {
                    return false;
                }
            }
            return true;
        }
        return false;
    }

    private static String kindName(Expr e) {
        return e.getClass().getSimpleName().toLowerCase().replace("lit", "");
    }

    // ------------------------------------------------------------ expressions

    Expr parseExpression(boolean withCondExpr) {
        return withCondExpr ? parseCondExpr() : parseOr();
    }

    private Expr parseCondExpr() {
        Token start = cur();
        enter(start);
        try {
            Expr expr1 = parseOr();
            while (skipName("if")) {
                Expr expr2 = parseOr();
                Expr expr3 = null;
                if (skipName("else")) {
                    expr3 = parseCondExpr();
                }
                expr1 = new Expr.CondExpr(start.line(), start.col(), expr2, expr1, expr3);
            }
            return expr1;
        } finally {
            depth--;
        }
    }

    private Expr parseOr() {
        Token t = cur();
        Expr left = parseAnd();
        while (skipName("or")) {
            Expr right = parseAnd();
            left = new Expr.Binary(t.line(), t.col(), "or", left, right);
        }
        return left;
    }

    private Expr parseAnd() {
        Token t = cur();
        Expr left = parseNot();
        while (skipName("and")) {
            Expr right = parseNot();
            left = new Expr.Binary(t.line(), t.col(), "and", left, right);
        }
        return left;
    }

    private Expr parseNot() {
        Token t = cur();
        if (t.isName("not")) {
            next();
            enter(t);
            try {
                return new Expr.Unary(t.line(), t.col(), "not", parseNot());
            } finally {
                depth--;
            }
        }
        return parseCompare();
    }

    private Expr parseCompare() {
        Token t = cur();
        Expr expr = parseMath1();
        List<String> ops = new ArrayList<>();
        List<Expr> operands = new ArrayList<>();
        while (true) {
            String type = cur().type();
            if (COMPARE_OPS.contains(type)) {
                next();
                ops.add(type);
                operands.add(parseMath1());
            } else if (skipName("in")) {
                ops.add("in");
                operands.add(parseMath1());
            } else if (cur().isName("not") && look().isName("in")) {
                next();
                next();
                ops.add("notin");
                operands.add(parseMath1());
            } else {
                break;
            }
        }
        if (ops.isEmpty()) {
            return expr;
        }
        return new Expr.Compare(t.line(), t.col(), expr, ops, operands);
    }

    private Expr parseMath1() {
        Token t = cur();
        Expr left = parseConcat();
        while (cur().is("add") || cur().is("sub")) {
            String op = next().type();
            Expr right = parseConcat();
            left = new Expr.Binary(t.line(), t.col(), op, left, right);
        }
        return left;
    }

    private Expr parseConcat() {
        Token t = cur();
        List<Expr> args = new ArrayList<>();
        args.add(parseMath2());
        while (cur().is("tilde")) {
            next();
            args.add(parseMath2());
        }
        return args.size() == 1 ? args.get(0) : new Expr.Concat(t.line(), t.col(), args);
    }

    private Expr parseMath2() {
        Token t = cur();
        Expr left = parsePow();
        while (cur().is("mul") || cur().is("div") || cur().is("floordiv") || cur().is("mod")) {
            String op = next().type();
            Expr right = parsePow();
            left = new Expr.Binary(t.line(), t.col(), op, left, right);
        }
        return left;
    }

    private Expr parsePow() {
        Token t = cur();
        Expr left = parseUnary(true);
        while (cur().is("pow")) {
            next();
            Expr right = parseUnary(true);
            left = new Expr.Binary(t.line(), t.col(), "pow", left, right);
        }
        return left;
    }

    private Expr parseUnary(boolean withFilter) {
        Token t = cur();
        Expr node;
        enter(t);
        try {
            if (t.is("sub")) {
                next();
                node = new Expr.Unary(t.line(), t.col(), "neg", parseUnary(false));
            } else if (t.is("add")) {
                next();
                node = new Expr.Unary(t.line(), t.col(), "pos", parseUnary(false));
            } else {
                node = parsePrimary(false);
            }
            node = parsePostfix(node);
            if (withFilter) {
                node = parseFilterExpr(node);
            }
            return node;
        } finally {
            depth--;
        }
    }

    private Expr parsePrimary(boolean withNamespace) {
        Token t = cur();
        switch (t.type()) {
            case "name" -> {
                next();
                String v = (String) t.value();
                switch (v) {
                    case "true", "True" -> {
                        return new Expr.Const(t.line(), t.col(), Boolean.TRUE);
                    }
                    case "false", "False" -> {
                        return new Expr.Const(t.line(), t.col(), Boolean.FALSE);
                    }
                    case "none", "None" -> {
                        return new Expr.Const(t.line(), t.col(), null);
                    }
                    default -> {
                        if (withNamespace && cur().is("dot")) {
                            next();
                            Token attr = expect("name");
                            return new Expr.NsRef(t.line(), t.col(), v, (String) attr.value());
                        }
                        return new Expr.Name(t.line(), t.col(), v);
                    }
                }
            }
            case "string" -> {
                next();
                StringBuilder sb = new StringBuilder((String) t.value());
                while (cur().is("string")) {
                    sb.append((String) next().value());
                }
                return new Expr.Const(t.line(), t.col(), sb.toString());
            }
            case "integer", "float" -> {
                next();
                return new Expr.Const(t.line(), t.col(), t.value());
            }
            case "lparen" -> {
                next();
                Expr e = parseTuple(false, true, null, true, false);
                expect("rparen");
                return e;
            }
            case "lbracket" -> {
                return parseList();
            }
            case "lbrace" -> {
                return parseDict();
            }
            default -> throw fail("unexpected " + Py.repr(t.describe()), t);
        }
    }

    private boolean isTupleEnd(List<String> extraEnd) {
        Token t = cur();
        if (t.is("variable_end") || t.is("block_end") || t.is("rparen")) {
            return true;
        }
        if (extraEnd != null) {
            for (String e : extraEnd) {
                if (e.startsWith("name:") ? t.isName(e.substring(5)) : t.is(e)) {
                    return true;
                }
            }
        }
        return false;
    }

    private Expr parseTuple(boolean simplified, boolean withCondExpr, List<String> extraEnd, boolean explicitParens,
                            boolean withNamespace) {
        Token start = cur();
        List<Expr> args = new ArrayList<>();
        boolean isTuple = false;
        while (true) {
            if (!args.isEmpty()) {
                expect("comma");
            }
            if (isTupleEnd(extraEnd)) {
                break;
            }
            args.add(simplified ? parsePrimary(withNamespace) : parseExpression(withCondExpr));
            if (cur().is("comma")) {
                isTuple = true;
            } else {
                break;
            }
        }
        if (!isTuple) {
            if (!args.isEmpty()) {
                return args.get(0);
            }
            if (!explicitParens) {
                throw fail("Expected an expression, got " + Py.repr(cur().describe()), cur());
            }
        }
        return new Expr.TupleLit(start.line(), start.col(), args);
    }

    private Expr parseList() {
        Token t = expect("lbracket");
        List<Expr> items = new ArrayList<>();
        while (!cur().is("rbracket")) {
            if (!items.isEmpty()) {
                expect("comma");
            }
            if (cur().is("rbracket")) {
                break;
            }
            items.add(parseExpression(true));
        }
        expect("rbracket");
        return new Expr.ListLit(t.line(), t.col(), items);
    }

    private Expr parseDict() {
        Token t = expect("lbrace");
        List<Expr> keys = new ArrayList<>();
        List<Expr> values = new ArrayList<>();
        while (!cur().is("rbrace")) {
            if (!keys.isEmpty()) {
                expect("comma");
            }
            if (cur().is("rbrace")) {
                break;
            }
            keys.add(parseExpression(true));
            expect("colon");
            values.add(parseExpression(true));
        }
        expect("rbrace");
        return new Expr.DictLit(t.line(), t.col(), keys, values);
    }

    private Expr parsePostfix(Expr node) {
        while (true) {
            if (cur().is("dot") || cur().is("lbracket")) {
                node = parseSubscript(node);
            } else if (cur().is("lparen")) {
                node = parseCall(node);
            } else {
                return node;
            }
        }
    }

    private Expr parseFilterExpr(Expr node) {
        while (true) {
            if (cur().is("pipe")) {
                node = parseFilter(node, false);
            } else if (cur().isName("is")) {
                node = parseTest(node);
            } else if (cur().is("lparen")) {
                node = parseCall(node);
            } else {
                return node;
            }
        }
    }

    private Expr parseSubscript(Expr node) {
        Token t = next();
        if (t.is("dot")) {
            Token attr = next();
            if (attr.is("name")) {
                return new Expr.Getattr(t.line(), t.col(), node, (String) attr.value());
            } else if (!attr.is("integer")) {
                throw fail("expected name or number", attr);
            }
            return new Expr.Getitem(t.line(), t.col(), node, new Expr.Const(attr.line(), attr.col(), attr.value()));
        }
        List<Expr> args = new ArrayList<>();
        while (!cur().is("rbracket")) {
            if (!args.isEmpty()) {
                expect("comma");
            }
            args.add(parseSubscribed());
        }
        expect("rbracket");
        Expr key = args.size() == 1 ? args.get(0) : new Expr.TupleLit(t.line(), t.col(), args);
        return new Expr.Getitem(t.line(), t.col(), node, key);
    }

    private Expr parseSubscribed() {
        Token t = cur();
        Expr[] args = new Expr[3];
        int n;
        if (cur().is("colon")) {
            next();
            n = 1;
        } else {
            Expr node = parseExpression(true);
            if (!cur().is("colon")) {
                return node;
            }
            next();
            args[0] = node;
            n = 1;
        }
        if (cur().is("colon")) {
            n++;
        } else if (!cur().is("rbracket") && !cur().is("comma")) {
            args[n++] = parseExpression(true);
        } else {
            n++;
        }
        if (cur().is("colon")) {
            next();
            if (!cur().is("rbracket") && !cur().is("comma")) {
                args[2] = parseExpression(true);
            }
        }
        return new Expr.Slice(t.line(), t.col(), args[0], args[1], args[2]);
    }

    private Expr.Args parseCallArgs() {
        Token t = expect("lparen");
        List<Expr> args = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<Expr> values = new ArrayList<>();
        Expr dynArgs = null;
        Expr dynKwargs = null;
        boolean requireComma = false;
        while (!cur().is("rparen")) {
            if (requireComma) {
                expect("comma");
                if (cur().is("rparen")) {
                    break;
                }
            }
            if (cur().is("mul")) {
                ensure(dynArgs == null && dynKwargs == null, t);
                next();
                dynArgs = parseExpression(true);
            } else if (cur().is("pow")) {
                ensure(dynKwargs == null, t);
                next();
                dynKwargs = parseExpression(true);
            } else if (cur().is("name") && look().is("assign")) {
                ensure(dynKwargs == null, t);
                String key = (String) next().value();
                next();
                names.add(key);
                values.add(parseExpression(true));
            } else {
                ensure(dynArgs == null && dynKwargs == null && names.isEmpty(), t);
                args.add(parseExpression(true));
            }
            requireComma = true;
        }
        expect("rparen");
        return new Expr.Args(args, names, values, dynArgs, dynKwargs);
    }

    private void ensure(boolean ok, Token t) {
        if (!ok) {
            throw fail("invalid syntax for function call expression", t);
        }
    }

    private Expr parseCall(Expr node) {
        Token t = cur();
        Expr.Args args = parseCallArgs();
        return new Expr.Call(t.line(), t.col(), node, args);
    }

    private Expr parseFilter(Expr node, boolean startInline) {
        while (cur().is("pipe") || startInline) {
            if (!startInline) {
                next();
            }
            Token t = expect("name");
            StringBuilder name = new StringBuilder((String) t.value());
            while (cur().is("dot")) {
                next();
                name.append('.').append((String) expect("name").value());
            }
            Expr.Args args = cur().is("lparen") ? parseCallArgs() : Expr.Args.NONE;
            node = new Expr.Filter(t.line(), t.col(), node, name.toString(), args);
            startInline = false;
        }
        return node;
    }

    private Expr parseTest(Expr node) {
        Token t = next();
        boolean negated = skipName("not");
        StringBuilder name = new StringBuilder((String) expect("name").value());
        while (cur().is("dot")) {
            next();
            name.append('.').append((String) expect("name").value());
        }
        Expr.Args args;
        Token c = cur();
        if (c.is("lparen")) {
            args = parseCallArgs();
        } else if ((c.is("name") || c.is("string") || c.is("integer") || c.is("float") || c.is("lparen")
                || c.is("lbracket") || c.is("lbrace")) && !(c.isName("else") || c.isName("or") || c.isName("and"))) {
            if (c.isName("is")) {
                throw fail("You cannot chain multiple tests with is", c);
            }
            Expr arg = parsePostfix(parsePrimary(false));
            args = new Expr.Args(List.of(arg), List.of(), List.of(), null, null);
        } else {
            args = Expr.Args.NONE;
        }
        Expr result = new Expr.Test(t.line(), t.col(), node, name.toString(), args);
        if (negated) {
            result = new Expr.Unary(t.line(), t.col(), "not", result);
        }
        return result;
    }

    // ------------------------------------------------------------ name scan for macros

    private static void collectNames(Object node, Set<String> out) {
        if (node instanceof List<?> l) {
            for (Object o : l) {
                collectNames(o, out);
            }
            return;
        }
        if (node instanceof Expr.Name n) {
            out.add(n.name());
            return;
        }
        if (node instanceof Expr.NsRef n) {
            out.add(n.name());
            return;
        }
        if (node instanceof Node.MacroDef) {
            return;
        }
        if (node instanceof Expr.Args a) {
            collectNames(a.positional(), out);
            collectNames(a.values(), out);
            collectNames(a.dynArgs(), out);
            collectNames(a.dynKwargs(), out);
            return;
        }
        if (node instanceof Record r) {
            for (var comp : r.getClass().getRecordComponents()) {
                try {
                    Object v = comp.getAccessor().invoke(r);
                    if (v instanceof Node || v instanceof List || v instanceof Expr.Args) {
                        collectNames(v, out);
                    }
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
    }
}
