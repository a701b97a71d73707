package dev.jlight.core.engine;

import java.util.Comparator;

/**
 * The order in which the scheduler serves sequences: waiting ones are admitted in this order,
 * running ones get their tokens in this order, and when blocks run out the last running one
 * (the lowest priority) is preempted first.
 */
public interface SchedulingPolicy {
    Comparator<Sequence> order();

    /** First come, first served: by admission order (sequence ids grow with it). */
    static SchedulingPolicy fcfs() {
        return () -> Comparator.comparingLong(Sequence::seqId);
    }
}
