package dev.jlight.core.template;

import java.util.List;
import java.util.function.Supplier;

/**
 * A Python iterator or generator, as Jinja's map/select/reject/unique/batch/slice/items and reverse
 * filters return: computed lazily on first use, always truthy, without len(), not subscriptable,
 * not JSON serializable, and exhausted after one pass.
 */
final class PyIter {
    final String typeName;
    private Supplier<List<Object>> source;
    private List<Object> items;
    private int pos;

    PyIter(String typeName, Supplier<List<Object>> source) {
        this.typeName = typeName;
        this.source = source;
    }

    private List<Object> items() {
        if (items == null) {
            items = source.get();
            source = null;
        }
        return items;
    }

    /** The items not consumed yet; the iterator is exhausted afterwards. */
    List<Object> drain() {
        List<Object> all = items();
        List<Object> rest = all.subList(Math.min(pos, all.size()), all.size());
        pos = all.size();
        return rest;
    }

    /** Python's next(): the next item, or null with {@code has[0] = false} when exhausted. */
    Object next(boolean[] has) {
        List<Object> all = items();
        if (pos >= all.size()) {
            has[0] = false;
            return null;
        }
        has[0] = true;
        return all.get(pos++);
    }

    /** {@code x in it}: consumes up to and including the first equal item. */
    boolean consumeUntil(Object x) {
        List<Object> all = items();
        while (pos < all.size()) {
            if (Py.eq(all.get(pos++), x)) {
                return true;
            }
        }
        return false;
    }

    String repr() {
        return "<" + typeName + " object>";
    }
}
