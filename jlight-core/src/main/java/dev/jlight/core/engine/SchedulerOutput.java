package dev.jlight.core.engine;

import java.util.List;

/**
 * What one step runs, as plain data: the scheduled sequences in batch order, the sequences
 * preempted to make room (their blocks are already freed; they recompute later), and totals.
 * {@code needsPreemption}: a running sequence found no free block while earlier steps were still
 * in flight, where the scheduler may not preempt; it and the sequences after it wait, and the
 * engine should let the steps in flight finish before the next schedule.
 */
public record SchedulerOutput(List<ScheduledSeq> seqs, List<Long> preempted, int numScheduledTokens,
                              boolean needsPreemption) {
    public SchedulerOutput {
        seqs = List.copyOf(seqs);
        preempted = List.copyOf(preempted);
    }

    public SchedulerOutput(List<ScheduledSeq> seqs, List<Long> preempted, int numScheduledTokens) {
        this(seqs, preempted, numScheduledTokens, false);
    }

    public boolean isEmpty() {
        return seqs.isEmpty();
    }

    public int numSampling() {
        int n = 0;
        for (ScheduledSeq s : seqs) {
            n += s.samples() ? 1 : 0;
        }
        return n;
    }
}
