/**
 * Chat templates: a Jinja2 interpreter that renders HF chat templates byte-identically to
 * transformers' {@code apply_chat_template}.
 *
 * <p>Entry points: {@link dev.jlight.core.template.ChatTemplate#compile(String)} and
 * {@link dev.jlight.core.template.ChatTemplate#render(java.util.Map)}, and
 * {@link dev.jlight.core.template.TokenizerChatTemplate} for a {@code tokenizer_config.json}
 * (template selection, special tokens, the context transformers passes). Errors are
 * {@link dev.jlight.core.template.TemplateException}s named after the Python exception the same
 * template raises; {@code raise_exception(msg)} keeps {@code msg} as the message.
 *
 * <p>Pipeline: {@code Lexer} (Jinja2's lexer with trim_blocks and lstrip_blocks, whitespace
 * control as in {@code jinja2.lexer.tokeniter}) → {@code Parser} (a port of
 * {@code jinja2.parser}, records in {@code Node}) → {@code Interpreter} (tree walking; Jinja's
 * scoping: a scope per loop iteration, macro call, with-block and for-else; lexical macros).
 *
 * <p>Values are plain Java: String, Long, Double, Boolean, null (None), List (list), Map with
 * insertion order (dict), plus {@code PySeq} (tuple, range, dict views), {@code PyIter} (the lazy
 * one-pass generators Jinja's map/select/... return), {@code Markup} (safe/escape), {@code
 * Undefined} (Jinja's default, not strict), {@code Namespace}, {@code Macro} and
 * {@code LoopContext}. {@code Py} holds Python's semantics on them (str/repr, truthiness,
 * comparisons, int/float arithmetic), {@code Methods} the str/dict/list methods and the immutable
 * sandbox's refusals, {@code Filters}/{@code Tests} Jinja's builtins, {@code PyFormat} printf-style
 * and {@code str.format}, {@code Json} json.dumps as transformers' {@code tojson} calls it.
 *
 * <p>Conformance is tested against real Jinja2: {@code scripts/jinja_cases.py} writes
 * {@code testdata/templates/*.json}, which {@code JinjaCasesTest} and {@code RealTemplatesTest}
 * replay; {@code GoldenTemplatesTest} replays renders made by transformers itself.
 */
package dev.jlight.core.template;
