package dev.jlight.core.template;

import java.util.List;
import java.util.Map;

/** Something a template can call: a builtin, a macro, a bound method. */
interface PyCallable {
    Object call(Interpreter in, List<Object> args, Map<String, Object> kwargs);

    /** Python's repr of the callable. */
    String repr();
}
