package dev.jlight.core.template;

import java.util.List;

/** The template AST, shaped after {@code jinja2.nodes}. Every node knows its line and column. */
sealed interface Node {
    int line();

    int col();

    // ------------------------------------------------------------ statements

    record Text(int line, int col, String text) implements Node {}

    record Output(int line, int col, Expr expr) implements Node {}

    record If(int line, int col, List<Expr> tests, List<List<Node>> bodies, List<Node> orElse) implements Node {}

    record For(int line, int col, Expr target, Expr iter, Expr filter, boolean recursive, List<Node> body,
               List<Node> orElse) implements Node {}

    record Set(int line, int col, Expr target, Expr value) implements Node {}

    /** {@code {% set x | filters %}body{% endset %}}; filter is a chain on a null base or null. */
    record SetBlock(int line, int col, Expr target, Expr filter, List<Node> body) implements Node {}

    record MacroDef(int line, int col, String name, List<String> params, List<Expr> defaults, List<Node> body,
                    boolean usesCaller, boolean usesVarargs, boolean usesKwargs) implements Node {}

    /** {@code {% call(params) expr %}body{% endcall %}}. */
    record CallBlock(int line, int col, Expr.Call call, MacroDef caller) implements Node {}

    record FilterBlock(int line, int col, Expr filter, List<Node> body) implements Node {}

    record With(int line, int col, List<Expr> targets, List<Expr> values, List<Node> body) implements Node {}

    /** transformers' {@code {% generation %}} tag: renders its body. */
    record Generation(int line, int col, List<Node> body) implements Node {}

    record Break(int line, int col) implements Node {}

    record Continue(int line, int col) implements Node {}

    // ------------------------------------------------------------ expressions

    sealed interface Expr extends Node {
        record Const(int line, int col, Object value) implements Expr {}

        record Name(int line, int col, String name) implements Expr {}

        /** Assignment target {@code ns.attr}. */
        record NsRef(int line, int col, String name, String attr) implements Expr {}

        record Getattr(int line, int col, Expr obj, String attr) implements Expr {}

        record Getitem(int line, int col, Expr obj, Expr key) implements Expr {}

        /** Only as a Getitem key (or inside a tuple key); null parts are omitted. */
        record Slice(int line, int col, Expr start, Expr stop, Expr step) implements Expr {}

        record ListLit(int line, int col, List<Expr> items) implements Expr {}

        record TupleLit(int line, int col, List<Expr> items) implements Expr {}

        record DictLit(int line, int col, List<Expr> keys, List<Expr> values) implements Expr {}

        /** op: neg, pos, not. */
        record Unary(int line, int col, String op, Expr operand) implements Expr {}

        /** op: add, sub, mul, div, floordiv, mod, pow, and, or. */
        record Binary(int line, int col, String op, Expr left, Expr right) implements Expr {}

        record Concat(int line, int col, List<Expr> parts) implements Expr {}

        /** ops: eq, ne, lt, lteq, gt, gteq, in, notin. */
        record Compare(int line, int col, Expr first, List<String> ops, List<Expr> operands) implements Expr {}

        /** {@code then if test else orElse}; orElse may be null (then Undefined). */
        record CondExpr(int line, int col, Expr test, Expr then, Expr orElse) implements Expr {}

        record Args(List<Expr> positional, List<String> names, List<Expr> values, Expr dynArgs, Expr dynKwargs) {
            static final Args NONE = new Args(List.of(), List.of(), List.of(), null, null);
        }

        record Call(int line, int col, Expr fn, Args args) implements Expr {}

        /** value is null for filter blocks and {@code set} block filters. */
        record Filter(int line, int col, Expr value, String name, Args args) implements Expr {}

        record Test(int line, int col, Expr value, String name, Args args) implements Expr {}
    }
}
