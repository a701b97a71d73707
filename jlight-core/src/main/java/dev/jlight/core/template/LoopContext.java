package dev.jlight.core.template;

import java.util.List;
import java.util.Map;

/** Jinja2's {@code loop} variable. Callable ({@code loop(children)}) in recursive loops. */
final class LoopContext implements PyCallable {
    private final List<Object> items;
    final int depth0;
    int index0;
    private Object lastChanged = NONE;
    private final Recurse recurse;

    private static final Object NONE = new Object();

    /** Re-runs a recursive loop over new items one level deeper. */
    interface Recurse {
        String run(Interpreter in, Object iterable, int depth0);
    }

    LoopContext(List<Object> items, int depth0, Recurse recurse) {
        this.items = items;
        this.depth0 = depth0;
        this.recurse = recurse;
    }

    int length() {
        return items.size();
    }

    Object attribute(String name) {
        int n = items.size();
        return switch (name) {
            case "index" -> (long) index0 + 1;
            case "index0" -> (long) index0;
            case "revindex" -> (long) (n - index0);
            case "revindex0" -> (long) (n - index0 - 1);
            case "first" -> index0 == 0;
            case "last" -> index0 == n - 1;
            case "length" -> (long) n;
            case "depth" -> (long) depth0 + 1;
            case "depth0" -> (long) depth0;
            case "previtem" -> index0 > 0 ? items.get(index0 - 1) : Undefined.hint("there is no previous item");
            case "nextitem" -> index0 + 1 < n ? items.get(index0 + 1) : Undefined.hint("there is no next item");
            case "cycle", "changed" -> new LoopMethod(this, name);
            default -> Methods.NOT_FOUND;
        };
    }

    record LoopMethod(LoopContext loop, String name) implements PyCallable {
        @Override
        public Object call(Interpreter in, List<Object> args, Map<String, Object> kwargs) {
            if (name.equals("cycle")) {
                if (args.isEmpty()) {
                    throw Py.typeError("no items for cycling given");
                }
                return args.get(loop.index0 % args.size());
            }
            Object value = args.size() == 1 ? args.get(0) : new PySeq.Tuple(args);
            if (loop.lastChanged == NONE || !Py.eq(loop.lastChanged, value)) {
                loop.lastChanged = value;
                return true;
            }
            return false;
        }

        @Override
        public String repr() {
            return "<bound method LoopContext." + name + ">";
        }
    }

    @Override
    public Object call(Interpreter in, List<Object> args, Map<String, Object> kwargs) {
        if (recurse == null) {
            throw Py.typeError("The loop must be marked as 'recursive' to call it.");
        }
        if (args.size() != 1) {
            throw Py.typeError("loop() takes exactly one argument");
        }
        return recurse.run(in, args.get(0), depth0 + 1);
    }

    @Override
    public String repr() {
        return "<LoopContext " + (index0 + 1) + "/" + items.size() + ">";
    }
}
