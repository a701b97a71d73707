package dev.jlight.core.template;

import java.util.AbstractList;
import java.util.List;
import java.util.RandomAccess;

/** Immutable Python sequences other than list: tuple, range and dict views. */
abstract sealed class PySeq extends AbstractList<Object> implements RandomAccess {

    abstract String typeName();

    /** A Python tuple. */
    static final class Tuple extends PySeq {
        private final Object[] items;
        /** Field names of a named tuple (groupby's (grouper, list)), else null. */
        final List<String> names;

        Tuple(List<?> items) {
            this.items = items.toArray();
            this.names = null;
        }

        Tuple(Object... items) {
            this.items = items.clone();
            this.names = null;
        }

        /** A named tuple. */
        Tuple(List<String> names, Object... items) {
            this.items = items.clone();
            this.names = names;
        }

        @Override
        public Object get(int index) {
            return items[index];
        }

        @Override
        public int size() {
            return items.length;
        }

        @Override
        String typeName() {
            return "tuple";
        }
    }

    /** A Python range, as the sandbox's {@code range()} returns. */
    static final class Range extends PySeq {
        final long start;
        final long stop;
        final long step;
        private final int size;

        Range(long start, long stop, long step) {
            this.start = start;
            this.stop = stop;
            this.step = step;
            long n;
            if (step > 0) {
                n = start < stop ? (stop - start + step - 1) / step : 0;
            } else {
                n = start > stop ? (start - stop - step - 1) / (-step) : 0;
            }
            if (n > Interpreter.MAX_RANGE) {
                throw new TemplateException("OverflowError",
                        "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
            }
            this.size = (int) n;
        }

        @Override
        public Object get(int index) {
            if (index < 0 || index >= size) {
                throw new IndexOutOfBoundsException(index);
            }
            return start + step * index;
        }

        @Override
        public int size() {
            return size;
        }

        @Override
        String typeName() {
            return "range";
        }
    }

    /** {@code dict.items()}, {@code keys()}, {@code values()}: render like Python's views. */
    static final class DictView extends PySeq {
        final String kind;
        private final List<Object> items;

        DictView(String kind, List<Object> items) {
            this.kind = kind;
            this.items = items;
        }

        @Override
        public Object get(int index) {
            return items.get(index);
        }

        @Override
        public int size() {
            return items.size();
        }

        @Override
        String typeName() {
            return "dict_" + kind;
        }
    }
}
