package dev.jlight.core.engine;

import java.util.List;

/**
 * What one step runs, as plain data: the scheduled sequences in batch order, the sequences
 * preempted to make room (their blocks are already freed; they recompute later), and totals.
 */
public record SchedulerOutput(List<ScheduledSeq> seqs, List<Long> preempted, int numScheduledTokens) {
    public SchedulerOutput {
        seqs = List.copyOf(seqs);
        preempted = List.copyOf(preempted);
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
