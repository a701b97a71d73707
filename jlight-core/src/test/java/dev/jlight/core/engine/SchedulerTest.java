package dev.jlight.core.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jlight.core.engine.kv.BlockPool;
import dev.jlight.core.engine.kv.KvCacheManager;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The scheduler alone, no model: a fake step appends token 7 to each sampling sequence. */
class SchedulerTest {
    private static final int BS = 4;
    private final Map<Long, Sequence> seqs = new HashMap<>();
    private long nextId;

    private Scheduler scheduler(int numBlocks, int budget, int maxSeqs) {
        return new Scheduler(budget, maxSeqs, new KvCacheManager(new BlockPool(numBlocks, true), BS),
                SchedulingPolicy.fcfs());
    }

    private Sequence add(Scheduler s, int promptLen, int maxTokens) {
        int[] prompt = new int[promptLen];
        for (int i = 0; i < promptLen; i++) {
            prompt[i] = (int) (nextId * 1000 + i);
        }
        Sequence seq = new Sequence(nextId++, prompt, SamplingParams.greedy(maxTokens), maxTokens, new SplittableRandom(1));
        seqs.put(seq.seqId(), seq);
        s.add(seq);
        return seq;
    }

    /** One step: schedule, "run", append a token to sampling sequences, finish those at max_tokens. */
    private SchedulerOutput step(Scheduler s) {
        SchedulerOutput out = s.schedule();
        s.checkInvariants();
        s.stepDone();
        for (ScheduledSeq sc : out.seqs()) {
            Sequence seq = seqs.get(sc.seqId());
            if (sc.samples()) {
                seq.appendToken(7);
                if (seq.numOutputTokens() >= seq.maxTokens()) {
                    s.finish(seq);
                }
            }
        }
        s.checkInvariants();
        return out;
    }

    private static List<Long> ids(SchedulerOutput out) {
        return out.seqs().stream().map(ScheduledSeq::seqId).toList();
    }

    @Test
    void decodesFirstThenPrefillsUnderTheBudget() {
        Scheduler s = scheduler(100, 10, 16);
        Sequence a = add(s, 6, 5);
        SchedulerOutput o = step(s);
        assertEquals(List.of(0L), ids(o));
        assertEquals(6, o.numScheduledTokens());
        assertTrue(o.seqs().getFirst().samples());

        Sequence b = add(s, 20, 5);
        o = step(s);
        // a decodes 1 token first; b gets the remaining 9 of its 20 (a chunk: samples nothing).
        assertEquals(List.of(0L, 1L), ids(o));
        assertEquals(1, o.seqs().get(0).numNewTokens());
        assertEquals(9, o.seqs().get(1).numNewTokens());
        assertFalse(o.seqs().get(1).samples());
        assertEquals(10, o.numScheduledTokens());
        o = step(s);
        assertEquals(1, o.seqs().get(0).numNewTokens());
        assertEquals(9, o.seqs().get(1).numNewTokens());
        assertEquals(9, o.seqs().get(1).numComputedBefore());
        o = step(s);
        assertEquals(2, o.seqs().get(1).numNewTokens());
        assertTrue(o.seqs().get(1).samples());
        assertEquals(1, b.numOutputTokens());
        assertEquals(4, a.numOutputTokens());
    }

    @Test
    void budgetIsNeverExceededAndEverythingFinishes() {
        Scheduler s = scheduler(200, 16, 8);
        for (int i = 0; i < 20; i++) {
            add(s, 1 + (i * 7) % 30, 1 + i % 5);
        }
        int steps = 0;
        while (s.hasUnfinished()) {
            SchedulerOutput o = step(s);
            assertTrue(o.numScheduledTokens() <= 16);
            assertTrue(o.seqs().size() <= 8);
            assertFalse(o.isEmpty(), "no progress");
            steps++;
        }
        assertTrue(steps < 200);
        for (int i = 0; i < 200; i++) {
            assertEquals(0, s.kv().pool().block(i).refCount());
        }
    }

    @Test
    void scheduledDataDescribesTheTokens() {
        Scheduler s = scheduler(10, 100, 4);
        Sequence a = add(s, 5, 3);
        SchedulerOutput o = step(s);
        ScheduledSeq sc = o.seqs().getFirst();
        assertArrayEquals(a.tokens(0, 5), sc.tokenIds());
        assertArrayEquals(new int[] {0, 1}, sc.blockTable());
        o = step(s);
        sc = o.seqs().getFirst();
        assertEquals(5, sc.numComputedBefore());
        assertArrayEquals(new int[] {7}, sc.tokenIds());
        assertEquals(6, sc.seqLen());
    }

    @Test
    void sequenceCapLimitsAdmission() {
        Scheduler s = scheduler(100, 1000, 2);
        add(s, 3, 10);
        add(s, 3, 10);
        add(s, 3, 10);
        assertEquals(List.of(0L, 1L), ids(step(s)));
        assertEquals(1, s.numWaiting());
    }

    @Test
    void preemptsTheYoungestWhenBlocksRunOut() {
        // 5 blocks of 4: two sequences of 7 prompt tokens take 2 blocks each; the 9th token needs a third.
        Scheduler s = scheduler(5, 100, 8);
        Sequence a = add(s, 7, 10);
        Sequence b = add(s, 7, 10);
        step(s);                      // both prefill, sample token 8
        SchedulerOutput o = step(s);  // both decode token 8 (fits block 2)
        assertEquals(List.of(0L, 1L), ids(o));
        o = step(s);                  // token 9 needs a new block each: b (youngest) is preempted for a
        assertEquals(List.of(0L), ids(o));
        assertEquals(List.of(1L), o.preempted());
        assertEquals(Sequence.Status.WAITING, b.status());
        assertEquals(0, b.numComputedTokens());
        assertEquals(1, s.numPreemptions());
        assertEquals(Sequence.Status.RUNNING, a.status());
        // b comes back once a is done, and recomputes its prompt and outputs together.
        while (!a.isFinished()) {
            step(s);
        }
        o = step(s);
        assertEquals(List.of(1L), ids(o));
        // b's blocks were freed tail first: a's last block evicted b's second block, its first survives.
        assertEquals(4, o.seqs().getFirst().numComputedBefore(), "its first block comes back from the prefix cache");
        while (s.hasUnfinished()) {
            step(s);
        }
        assertEquals(10, b.numOutputTokens());
    }

    @Test
    void waitingSequenceWaitsForBlocksWithoutPreemptingRunningOnes() {
        Scheduler s = scheduler(3, 4, 8);
        Sequence a = add(s, 8, 4);           // 3 blocks in the end; prefill in two chunks of 4
        Sequence b = add(s, 4, 1);           // 1 block
        assertEquals(List.of(0L), ids(step(s)));
        assertEquals(List.of(0L), ids(step(s)));
        SchedulerOutput o = step(s);         // a's decode takes the last block: b cannot be admitted
        assertEquals(List.of(0L), ids(o));
        assertTrue(o.preempted().isEmpty());
        assertEquals(Sequence.Status.WAITING, b.status());
        while (s.hasUnfinished()) {
            step(s);
        }
        assertTrue(a.isFinished() && b.isFinished());
        assertEquals(0, s.numPreemptions());
    }

    @Test
    void neverDeadlocksWithATinyPool() {
        // Each sequence alone fits (prompt + max_tokens - 1 <= 12 tokens = 3 blocks): the pool has 3.
        Scheduler s = scheduler(3, 8, 8);
        List<Sequence> all = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            all.add(add(s, 1 + i % 8, 12 - (1 + i % 8) + 1));
        }
        int steps = 0;
        while (s.hasUnfinished()) {
            assertFalse(step(s).isEmpty());
            assertTrue(++steps < 10_000, "stuck");
        }
        for (Sequence q : all) {
            assertEquals(q.maxTokens(), q.numOutputTokens());
        }
        assertTrue(s.numPreemptions() > 0);
        assertEquals(3, s.kv().pool().numFreeBlocks());
    }

    @Test
    void finishingAWaitingOrRunningSequenceFreesIt() {
        Scheduler s = scheduler(10, 100, 8);
        Sequence a = add(s, 5, 10);
        Sequence b = add(s, 5, 10);
        step(s);
        Sequence c = add(s, 5, 10);
        s.finish(a);
        s.finish(c);
        s.checkInvariants();
        assertEquals(1, s.numRunning());
        assertEquals(0, s.numWaiting());
        s.finish(b);
        assertFalse(s.hasUnfinished());
        assertEquals(10, s.kv().pool().numFreeBlocks());
        s.checkInvariants();
    }
}
