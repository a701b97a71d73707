package dev.jlight.core.engine;

import dev.jlight.core.engine.kv.CachedPrefix;
import dev.jlight.core.engine.kv.KvCacheManager;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * Iteration-level continuous batching (vLLM v1's scheduler, one rule, no phases): each step,
 * under a budget of {@code maxNumBatchedTokens} tokens, every running sequence's computed tokens
 * catch up with its tokens (a decode is 1 token, a long prompt is cut into chunks), then waiting
 * sequences are admitted in policy order while budget, blocks and {@code maxNumSeqs} allow. When
 * a running sequence needs a block and none is free, the lowest-priority running sequence is
 * preempted: its blocks are freed and it waits to be recomputed (its full blocks usually come
 * back from the prefix cache). Engine thread only.
 *
 * <p>Progress is guaranteed as long as any single sequence fits the pool on its own (checked at
 * admission): the highest-priority sequence can always preempt all others.
 */
public final class Scheduler {
    private final int maxNumBatchedTokens;
    private final int maxNumSeqs;
    private final KvCacheManager kv;
    private final SchedulingPolicy policy;
    private final TreeSet<Sequence> waiting;
    private final List<Sequence> running = new ArrayList<>();
    private List<Sequence> lastScheduled = List.of();
    private long numPreemptions;

    public Scheduler(int maxNumBatchedTokens, int maxNumSeqs, KvCacheManager kv, SchedulingPolicy policy) {
        if (maxNumBatchedTokens < 1 || maxNumSeqs < 1) {
            throw new IllegalArgumentException("scheduler needs a token budget and a sequence cap of at least 1, got "
                    + maxNumBatchedTokens + " and " + maxNumSeqs);
        }
        this.maxNumBatchedTokens = maxNumBatchedTokens;
        this.maxNumSeqs = maxNumSeqs;
        this.kv = kv;
        this.policy = policy;
        this.waiting = new TreeSet<>(policy.order());
    }

    public KvCacheManager kv() {
        return kv;
    }

    public void add(Sequence seq) {
        if (seq.status != Sequence.Status.WAITING || seq.numComputedTokens != 0) {
            throw new IllegalStateException("only new sequences can be added: " + seq);
        }
        if (!waiting.add(seq)) {
            throw new IllegalStateException("sequence " + seq.seqId() + " added twice");
        }
    }

    public int numRunning() {
        return running.size();
    }

    public int numWaiting() {
        return waiting.size();
    }

    public boolean hasUnfinished() {
        return !running.isEmpty() || !waiting.isEmpty();
    }

    public long numPreemptions() {
        return numPreemptions;
    }

    /** Running sequences in service order (a copy). */
    public List<Sequence> running() {
        return List.copyOf(running);
    }

    /** Waiting sequences in admission order (a copy). */
    public List<Sequence> waiting() {
        return List.copyOf(waiting);
    }

    /** Picks this step's work and reserves its blocks; computed-token counts advance now. */
    public SchedulerOutput schedule() {
        int budget = maxNumBatchedTokens;
        List<ScheduledSeq> out = new ArrayList<>();
        List<Sequence> scheduled = new ArrayList<>();
        List<Long> preempted = new ArrayList<>();
        running.sort(policy.order());

        int i = 0;
        while (i < running.size() && budget > 0) {
            Sequence seq = running.get(i);
            int n = Math.min(seq.numTokens() - seq.numComputedTokens, budget);
            if (n <= 0) {
                throw new IllegalStateException("running " + seq + " has nothing to compute");
            }
            boolean fits = kv.allocateSlots(seq, seq.numComputedTokens, n, CachedPrefix.NONE);
            while (!fits) {
                Sequence victim = running.removeLast();
                preempt(victim);
                preempted.add(victim.seqId());
                if (victim == seq) {
                    break;
                }
                fits = kv.allocateSlots(seq, seq.numComputedTokens, n, CachedPrefix.NONE);
            }
            if (!fits) {
                break;
            }
            out.add(scheduleSeq(seq, n));
            scheduled.add(seq);
            budget -= n;
            i++;
        }

        while (preempted.isEmpty() && !waiting.isEmpty() && budget > 0 && running.size() < maxNumSeqs) {
            Sequence seq = waiting.first();
            CachedPrefix prefix = kv.findCachedPrefix(seq);
            int cached = prefix.numBlocks() * kv.blockSize();
            int n = Math.min(seq.numTokens() - cached, budget);
            if (!kv.allocateSlots(seq, cached, n, prefix)) {
                break;
            }
            waiting.pollFirst();
            seq.status = Sequence.Status.RUNNING;
            seq.numComputedTokens = cached;
            running.add(seq);
            out.add(scheduleSeq(seq, n));
            scheduled.add(seq);
            budget -= n;
        }
        lastScheduled = scheduled;
        return new SchedulerOutput(out, preempted, maxNumBatchedTokens - budget);
    }

    private ScheduledSeq scheduleSeq(Sequence seq, int n) {
        int before = seq.numComputedTokens;
        seq.numComputedTokens += n;
        return new ScheduledSeq(seq.seqId(), before, seq.tokens(before, before + n), kv.blockTable(seq.seqId()),
                seq.numComputedTokens == seq.numTokens());
    }

    private void preempt(Sequence seq) {
        kv.free(seq.seqId());
        seq.numComputedTokens = 0;
        seq.status = Sequence.Status.WAITING;
        waiting.add(seq);
        numPreemptions++;
    }

    /**
     * After the step's forward pass succeeded: the scheduled sequences' full computed blocks
     * enter the prefix cache. Call before appending sampled tokens or finishing sequences.
     */
    public void stepDone() {
        for (Sequence seq : lastScheduled) {
            if (seq.status == Sequence.Status.RUNNING) {
                kv.cacheComputedBlocks(seq, seq.numComputedTokens);
            }
        }
        lastScheduled = List.of();
    }

    /** Ends a sequence wherever it is (running or waiting) and frees its blocks at once. */
    public void finish(Sequence seq) {
        if (seq.status == Sequence.Status.FINISHED) {
            return;
        }
        if (seq.status == Sequence.Status.RUNNING) {
            running.remove(seq);
        } else {
            waiting.remove(seq);
        }
        kv.free(seq.seqId());
        seq.status = Sequence.Status.FINISHED;
    }

    /** Throws when a sequence's state disagrees with the queues and the block tables. */
    public void checkInvariants() {
        kv.checkInvariants();
        for (Sequence s : running) {
            if (s.status != Sequence.Status.RUNNING || !kv.hasBlocks(s.seqId())
                    || kv.blockTable(s.seqId()).length < kv.blocksFor(s.numComputedTokens)) {
                throw new IllegalStateException("bad running " + s + " with " + kv.blockTable(s.seqId()).length + " blocks");
            }
        }
        for (Sequence s : waiting) {
            if (s.status != Sequence.Status.WAITING || kv.hasBlocks(s.seqId()) || s.numComputedTokens != 0) {
                throw new IllegalStateException("bad waiting " + s);
            }
        }
        if (kv.numSequences() != running.size()) {
            throw new IllegalStateException(kv.numSequences() + " block tables for " + running.size() + " running");
        }
        if (running.size() > maxNumSeqs) {
            throw new IllegalStateException(running.size() + " running over the cap " + maxNumSeqs);
        }
    }
}
