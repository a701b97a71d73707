package dev.jlight.core.engine;

import dev.jlight.core.model.PendingIds;
import java.util.HashMap;
import java.util.Map;

/**
 * A sampled step handed to the model: which sequence owns each logit row, and its ids, awaited
 * once (in launch order) and kept, so the next step's placeholders can be filled in on the host
 * from them and the engine can apply them.
 */
public final class LaunchedStep {
    private final SchedulerOutput out;
    private final Map<Long, Integer> rowOfSeq = new HashMap<>();
    private final int vocabSize;
    private PendingIds pending;
    private int[] ids;
    private RuntimeException failure;

    LaunchedStep(SchedulerOutput out, PendingIds pending, int vocabSize) {
        this.out = out;
        this.pending = pending;
        this.vocabSize = vocabSize;
        int row = 0;
        for (ScheduledSeq s : out.seqs()) {
            if (s.samples()) {
                rowOfSeq.put(s.seqId(), row++);
            }
        }
    }

    public SchedulerOutput out() {
        return out;
    }

    /** The logit row of the sequence in this step, or -1 when it does not sample here. */
    int rowOf(long seqId) {
        return rowOfSeq.getOrDefault(seqId, -1);
    }

    /** Whether awaiting the step threw (its requests failed). */
    boolean failed() {
        return failure != null;
    }

    /**
     * The step's ids in row order; the first call waits for the backend and checks them. A
     * failure is kept and thrown again: the backend is awaited once.
     */
    int[] ids() {
        if (failure != null) {
            throw failure;
        }
        if (ids == null) {
            PendingIds p = pending;
            pending = null;
            try {
                ids = checked(p.await(), rowOfSeq.size(), vocabSize);
            } catch (RuntimeException e) {
                failure = e;
                throw e;
            }
        }
        return ids;
    }

    static int[] checked(int[] ids, int rows, int vocabSize) {
        if (ids == null || ids.length != rows) {
            throw new IllegalStateException("model returned " + (ids == null ? "no" : ids.length) + " token ids for "
                    + rows + " rows");
        }
        for (int id : ids) {
            if (id < 0 || id >= vocabSize) {
                throw new IllegalStateException("backend sampled token " + id + " outside vocabulary " + vocabSize);
            }
        }
        return ids;
    }
}
