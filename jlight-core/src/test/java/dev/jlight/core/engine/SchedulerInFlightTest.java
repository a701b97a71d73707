package dev.jlight.core.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jlight.core.engine.kv.BlockPool;
import dev.jlight.core.engine.kv.KvCacheManager;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The scheduler's rules for steps in flight (overlapped scheduling), without a model: a
 * placeholder is scheduled as a token, a sequence is not run past max_tokens on placeholders,
 * nothing is preempted while a step is in flight, and a finished sequence keeps its blocks until
 * the last step holding it is done or failed.
 */
class SchedulerInFlightTest {
    private static final int BS = 4;
    private long nextId;

    private static Scheduler scheduler(int numBlocks, int budget) {
        return new Scheduler(budget, 16, new KvCacheManager(new BlockPool(numBlocks, true), BS), SchedulingPolicy.fcfs());
    }

    private Sequence add(Scheduler s, int promptLen, int maxTokens) {
        int[] prompt = new int[promptLen];
        for (int i = 0; i < promptLen; i++) {
            prompt[i] = (int) (nextId * 100 + i);
        }
        Sequence seq = new Sequence(nextId++, prompt, SamplingParams.greedy(maxTokens), maxTokens, new SplittableRandom(1));
        s.add(seq);
        return seq;
    }

    /** Schedules a step and marks its sampling sequences' picks as placeholders (a launch). */
    private static SchedulerOutput launch(Scheduler s, Sequence... seqs) {
        SchedulerOutput out = s.schedule();
        for (Sequence q : seqs) {
            for (ScheduledSeq sc : out.seqs()) {
                if (sc.seqId() == q.seqId() && sc.samples()) {
                    q.addPlaceholder();
                }
            }
        }
        s.checkInvariants();
        return out;
    }

    @Test
    void aPlaceholderIsScheduledAsTheNextDecode() {
        Scheduler s = scheduler(100, 64);
        Sequence a = add(s, 5, 10);
        SchedulerOutput first = launch(s, a);
        SchedulerOutput second = launch(s, a);
        assertEquals(1, second.seqs().size());
        ScheduledSeq d = second.seqs().getFirst();
        assertEquals(5, d.numComputedBefore());
        assertArrayEquals(new int[] {ScheduledSeq.PLACEHOLDER}, d.tokenIds());
        assertTrue(d.samples());
        assertEquals(2, s.numInFlight());
        s.stepDone(first);
        a.resolvePlaceholder(42);
        assertEquals(42, a.tokenAt(5));
        assertEquals(1, a.numPlaceholders());
        assertEquals(1, a.numOutputTokens());
        s.checkInvariants();
    }

    @Test
    void maxTokensIsNotPassedOnPlaceholders() {
        Scheduler s = scheduler(100, 64);
        Sequence a = add(s, 5, 2);
        Sequence b = add(s, 3, 10);
        launch(s, a, b);                                 // both sample output token 1
        SchedulerOutput second = launch(s, a, b);        // both sample output token 2: a's last
        assertEquals(2, second.seqs().size());
        SchedulerOutput third = launch(s, a, b);
        assertEquals(List.of(b.seqId()), third.seqs().stream().map(ScheduledSeq::seqId).toList(),
                "a's last token is already sampled");
    }

    @Test
    void aSequenceFinishedInFlightKeepsItsBlocksUntilItsLastStepIsDone() {
        Scheduler s = scheduler(100, 64);
        Sequence a = add(s, 6, 10);
        SchedulerOutput first = launch(s, a);
        SchedulerOutput second = launch(s, a);
        int held = s.kv().pool().numFreeBlocks();
        s.stepDone(first);
        a.resolvePlaceholder(3);
        s.finish(a);                                     // e.g. a stop string in step one's pick
        assertEquals(0, a.numPlaceholders(), "step two's pick is discarded");
        assertTrue(s.kv().hasBlocks(a.seqId()), "step two still writes a's blocks");
        assertEquals(held, s.kv().pool().numFreeBlocks());
        assertFalse(s.hasUnfinished());
        s.checkInvariants();
        s.stepDone(second);
        assertFalse(s.kv().hasBlocks(a.seqId()));
        assertEquals(100, s.kv().pool().numFreeBlocks());
        s.checkInvariants();
    }

    @Test
    void aFailedStepReleasesTheBlocksKeptForIt() {
        Scheduler s = scheduler(100, 64);
        Sequence a = add(s, 6, 10);
        SchedulerOutput first = launch(s, a);
        s.finish(a);                                     // aborted while in flight
        assertTrue(s.kv().hasBlocks(a.seqId()));
        s.stepFailed(first);
        assertFalse(s.kv().hasBlocks(a.seqId()));
        assertEquals(0, s.numInFlight());
        s.checkInvariants();
    }

    @Test
    void noPreemptionWhileAStepIsInFlight() {
        Scheduler s = scheduler(4, 64);                  // 16 slots
        Sequence a = add(s, 8, 20);
        Sequence b = add(s, 7, 20);
        SchedulerOutput first = launch(s, a, b);         // a: 2 blocks, b: 2 blocks; pool empty
        SchedulerOutput second = launch(s, a, b);        // a needs a 3rd block for position 8
        assertTrue(second.needsPreemption());
        assertTrue(second.isEmpty(), "a, first in line, found no block; b waits behind it");
        assertEquals(0, s.numPreemptions());
        assertEquals(1, s.numInFlight(), "an empty step is not in flight");
        s.stepDone(first);
        a.resolvePlaceholder(1);
        b.resolvePlaceholder(2);
        SchedulerOutput third = launch(s, a, b);         // nothing in flight: b is preempted for a
        assertFalse(third.needsPreemption());
        assertEquals(List.of(b.seqId()), third.preempted());
        assertEquals(1, s.numPreemptions());
        s.checkInvariants();
    }
}
