package dev.jlight.core.engine;

import dev.jlight.core.engine.kv.CachedPrefix;
import dev.jlight.core.engine.kv.KvCacheManager;
import java.util.ArrayList;
import java.util.Iterator;
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
 *
 * <p>Steps in flight (overlapped scheduling): a step is in flight from {@link #schedule} until
 * {@link #stepDone} or {@link #stepFailed}, and the next step may be scheduled meanwhile. While
 * any step is in flight the scheduler never preempts (the backend may still be writing the
 * victim's blocks; {@link SchedulerOutput#needsPreemption()} says it wanted to), does not run a
 * sequence past max_tokens on placeholders, and a sequence finished meanwhile keeps its blocks
 * until the last step holding it is done.
 */
public final class Scheduler {
    private final int maxNumBatchedTokens;
    private final int maxNumSeqs;
    private final KvCacheManager kv;
    private final SchedulingPolicy policy;
    private final TreeSet<Sequence> waiting;
    private final List<Sequence> running = new ArrayList<>();
    /** Scheduled steps not yet done or failed, oldest first. */
    private final List<Step> inFlight = new ArrayList<>();
    /** Finished sequences whose blocks a step in flight still uses. */
    private final List<Sequence> finishing = new ArrayList<>();
    private long numPreemptions;

    /** One scheduled step: its sequences and their computed-token counts after it. */
    private record Step(SchedulerOutput out, List<Sequence> seqs, int[] computedAfter) {
        boolean holds(Sequence seq) {
            return seqs.contains(seq);
        }
    }

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

    /** Steps scheduled and not yet done or failed. */
    public int numInFlight() {
        return inFlight.size();
    }

    /**
     * Picks this step's work and reserves its blocks; computed-token counts advance now. The step
     * is in flight until {@link #stepDone} or {@link #stepFailed} (an empty step is not).
     */
    public SchedulerOutput schedule() {
        int budget = maxNumBatchedTokens;
        boolean mayPreempt = inFlight.isEmpty();
        boolean needsPreemption = false;
        List<ScheduledSeq> out = new ArrayList<>();
        List<Sequence> scheduled = new ArrayList<>();
        List<Long> preempted = new ArrayList<>();
        running.sort(policy.order());

        int i = 0;
        while (i < running.size() && budget > 0) {
            Sequence seq = running.get(i);
            if (seq.samplingDone()) {
                i++;                    // its last token is a placeholder: it ends when that is known
                continue;
            }
            int n = Math.min(seq.numTokensWithPlaceholders() - seq.numComputedTokens, budget);
            if (n <= 0) {
                throw new IllegalStateException("running " + seq + " has nothing to compute");
            }
            boolean fits = kv.allocateSlots(seq, seq.numComputedTokens, n, CachedPrefix.NONE);
            if (!fits && !mayPreempt) {
                needsPreemption = true;
                break;
            }
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

        while (preempted.isEmpty() && !needsPreemption && !waiting.isEmpty() && budget > 0
                && running.size() < maxNumSeqs) {
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
        SchedulerOutput result = new SchedulerOutput(out, preempted, maxNumBatchedTokens - budget, needsPreemption);
        if (!result.isEmpty()) {
            int[] computedAfter = new int[scheduled.size()];
            for (int k = 0; k < computedAfter.length; k++) {
                computedAfter[k] = scheduled.get(k).numComputedTokens;
            }
            inFlight.add(new Step(result, scheduled, computedAfter));
        }
        return result;
    }

    private ScheduledSeq scheduleSeq(Sequence seq, int n) {
        int before = seq.numComputedTokens;
        seq.numComputedTokens += n;
        return new ScheduledSeq(seq.seqId(), before, seq.tokensOrPlaceholders(before, before + n),
                kv.blockTable(seq.seqId()), seq.numComputedTokens == seq.numTokensWithPlaceholders());
    }

    private void preempt(Sequence seq) {
        kv.free(seq.seqId());
        seq.numComputedTokens = 0;
        seq.status = Sequence.Status.WAITING;
        waiting.add(seq);
        numPreemptions++;
    }

    /** {@link #stepDone(SchedulerOutput)} of the oldest step in flight (the synchronous loop's only one). */
    public void stepDone() {
        if (inFlight.isEmpty()) {
            throw new IllegalStateException("no step in flight");
        }
        stepDone(inFlight.getFirst().out());
    }

    /**
     * After the step's forward pass succeeded: the running sequences' full computed blocks (as of
     * this step) enter the prefix cache, and sequences finished meanwhile that no other step holds
     * free their blocks. Call before applying the step's sampled tokens; every token this step
     * computed for a running sequence is known by then. A sequence finished since it was
     * scheduled caches nothing: it may have run on a placeholder whose id never came (its request
     * failed with the step before), so its blocks hold unknown tokens.
     */
    public void stepDone(SchedulerOutput out) {
        Step step = remove(out);
        for (int k = 0; k < step.seqs().size(); k++) {
            Sequence seq = step.seqs().get(k);
            if (seq.status == Sequence.Status.RUNNING) {
                kv.cacheComputedBlocks(seq, step.computedAfter()[k]);
            }
        }
        releaseFinishing();
    }

    /** The step's forward pass failed: nothing is cached; blocks kept for it are freed. */
    public void stepFailed(SchedulerOutput out) {
        remove(out);
        releaseFinishing();
    }

    private Step remove(SchedulerOutput out) {
        for (Iterator<Step> it = inFlight.iterator(); it.hasNext(); ) {
            Step s = it.next();
            if (s.out() == out) {
                it.remove();
                return s;
            }
        }
        throw new IllegalStateException("step of " + out.numScheduledTokens() + " tokens is not in flight");
    }

    private boolean held(Sequence seq) {
        for (Step s : inFlight) {
            if (s.holds(seq)) {
                return true;
            }
        }
        return false;
    }

    private void releaseFinishing() {
        for (Iterator<Sequence> it = finishing.iterator(); it.hasNext(); ) {
            Sequence seq = it.next();
            if (!held(seq)) {
                kv.free(seq.seqId());
                it.remove();
            }
        }
    }

    /**
     * Ends a sequence wherever it is (running or waiting). Its blocks are freed at once, or, when
     * a step in flight holds it, once the last such step is done; its placeholders are dropped.
     */
    public void finish(Sequence seq) {
        if (seq.status == Sequence.Status.FINISHED) {
            return;
        }
        if (seq.status == Sequence.Status.RUNNING) {
            running.remove(seq);
        } else {
            waiting.remove(seq);
        }
        seq.dropPlaceholders();
        seq.status = Sequence.Status.FINISHED;
        if (held(seq)) {
            finishing.add(seq);
        } else {
            kv.free(seq.seqId());
        }
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
        for (Sequence s : finishing) {
            if (s.status != Sequence.Status.FINISHED || !kv.hasBlocks(s.seqId()) || !held(s)) {
                throw new IllegalStateException("bad finishing " + s + ": its blocks are kept for no step in flight");
            }
        }
        if (kv.numSequences() != running.size() + finishing.size()) {
            throw new IllegalStateException(kv.numSequences() + " block tables for " + running.size() + " running and "
                    + finishing.size() + " finishing");
        }
        if (running.size() > maxNumSeqs) {
            throw new IllegalStateException(running.size() + " running over the cap " + maxNumSeqs);
        }
    }
}
