package dev.jlight.core.engine;

import java.util.Arrays;

/** A growable list of token ids (no boxing). */
final class TokenList {
    private int[] data;
    private int size;

    TokenList(int[] initial, int extraCapacity) {
        data = Arrays.copyOf(initial, initial.length + Math.max(extraCapacity, 1));
        size = initial.length;
    }

    int size() {
        return size;
    }

    int get(int i) {
        if (i >= size) {
            throw new IndexOutOfBoundsException(i + " of " + size + " tokens");
        }
        return data[i];
    }

    void add(int token) {
        if (size == data.length) {
            data = Arrays.copyOf(data, data.length * 2);
        }
        data[size++] = token;
    }

    int[] copy(int from, int to) {
        if (to > size) {
            throw new IndexOutOfBoundsException(to + " of " + size + " tokens");
        }
        return Arrays.copyOfRange(data, from, to);
    }
}
