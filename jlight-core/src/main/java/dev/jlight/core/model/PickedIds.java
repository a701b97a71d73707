package dev.jlight.core.model;

import dev.jlight.core.backend.Backend;
import dev.jlight.core.backend.Tensor;
import dev.jlight.core.weights.DType;
import java.util.ArrayList;
import java.util.List;

/**
 * The backend buffer a model's sampled steps write their token ids into, kept apart from the
 * step buffers because the next step may read it on the backend ({@link ForwardBatch#previousRows})
 * after those grew, and CUDA graphs name its address. It moves only when a step has more rows
 * than it holds; the buffer the last step wrote stays the "previous" one until a new step has
 * queued its ids (so a step that failed before that, or is run again, still reads the right ids).
 */
final class PickedIds {
    private final Backend backend;
    /** I32 [capacity, 1]; the previous sampled step's ids in its first {@code previousRows} rows. */
    private Tensor buffer;
    private int previousRows = -1;
    /**
     * Buffers outgrown, kept until the model closes (a few KB, O(log rows) of them): a CUDA graph
     * captured before the growth still names the old address and may run before its replay finds
     * the difference, so that memory must never be handed to anything else.
     */
    private final List<Tensor> outgrown = new ArrayList<>();

    PickedIds(Backend backend) {
        this.backend = backend;
    }

    /**
     * The buffer holding the previous sampled step's ids (allocated empty before the first such
     * step, when every row is -1), after checking that {@code rows} only names rows it picked.
     */
    Tensor previous(int[] rows, int minCapacity) {
        for (int t = 0; t < rows.length; t++) {
            if (rows[t] >= Math.max(previousRows, 0)) {
                throw new IllegalArgumentException("launchSampled: token " + t + " takes row " + rows[t]
                        + " of the previous sampled step, which picked " + Math.max(previousRows, 0) + " ids");
            }
        }
        if (buffer == null) {
            buffer = allocate(minCapacity);
        }
        return buffer;
    }

    /** Where a step of {@code rows} logit rows writes its ids: the buffer, or a larger one when it is too small. */
    Tensor target(int rows) {
        if (buffer != null && buffer.rows() >= rows) {
            return buffer;
        }
        return allocate(Math.max(rows, buffer == null ? 16 : 2 * (int) buffer.rows()));
    }

    /** The step's ids in {@code target} are queued: later steps take theirs from it. */
    void picked(Tensor target, int rows) {
        if (buffer != null && buffer != target) {
            outgrown.add(buffer);
        }
        buffer = target;
        previousRows = rows;
    }

    private Tensor allocate(int capacity) {
        return backend.allocate(DType.I32, Math.max(capacity, 16), 1);
    }
}
