package dev.jlight.core.model;

import dev.jlight.core.backend.Backend;
import dev.jlight.core.backend.Tensor;
import dev.jlight.core.weights.DType;
import java.util.HashMap;
import java.util.Map;

/**
 * Per-step work buffers that a sub-layer asks for by name ([tokens, cols] views), shared by all
 * layers: each name is allocated once at the step capacity and reallocated only when a step has
 * more tokens than the capacity (which {@link #begin} grows geometrically), never per step. Lets a
 * feed-forward variant (dense MLP, mixture of experts) own the shape of its scratch.
 */
public final class StepScratch {
    private record Buffer(DType dtype, long cols, Tensor full) {
    }

    private final Backend backend;
    private final Map<String, Buffer> buffers = new HashMap<>();
    private int capacity;
    private int tokens;

    public StepScratch(Backend backend) {
        this.backend = backend;
    }

    /** Starts a step of {@code n} tokens; grows the capacity (dropping old buffers) when needed. */
    public void begin(int n) {
        if (n > capacity) {
            capacity = Math.max(n, Math.max(16, 2 * capacity));
            buffers.clear();
        }
        tokens = n;
    }

    /** The [tokens, cols] view of buffer {@code name}; one name always has one dtype and width. */
    public Tensor rows(String name, DType dtype, long cols) {
        Buffer b = buffers.get(name);
        if (b == null) {
            b = new Buffer(dtype, cols, backend.allocate(dtype, capacity, cols));
            buffers.put(name, b);
        } else if (b.dtype() != dtype || b.cols() != cols) {
            throw new IllegalStateException("scratch '" + name + "' is " + b.dtype() + " x " + b.cols()
                    + ", asked as " + dtype + " x " + cols);
        }
        return backend.sliceRows(b.full(), 0, tokens);
    }

    public void clear() {
        buffers.clear();
        capacity = 0;
    }
}
