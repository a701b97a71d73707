package dev.jlight.core.template;

import java.util.List;
import java.util.Map;

/** A macro defined by {@code {% macro %}} (or the body of a {@code {% call %}} block as {@code caller}). */
final class Macro implements PyCallable {
    final Node.MacroDef def;
    final Interpreter.Frame closure;
    final Macro caller;

    Macro(Node.MacroDef def, Interpreter.Frame closure, Macro caller) {
        this.def = def;
        this.closure = closure;
        this.caller = caller;
    }

    @Override
    public Object call(Interpreter in, List<Object> args, Map<String, Object> kwargs) {
        return in.callMacro(this, args, kwargs);
    }

    @Override
    public String repr() {
        return "<Macro " + Py.repr(def.name()) + ">";
    }
}
