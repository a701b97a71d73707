package dev.jlight.core.testing;

import dev.jlight.core.backend.AttentionMetadata;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.model.DeviceSampling;
import dev.jlight.core.model.ForwardBatch;
import dev.jlight.core.model.Model;
import dev.jlight.core.model.PendingIds;
import java.util.ArrayDeque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A model that {@link #launchesAsync() launches asynchronously} for real, around one that
 * samples on its backend (a GPU model's stand-in in CPU tests): {@link #launchSampled} returns
 * before the step runs, which happens later ({@link Mode#DEFERRED}: when it is awaited) or on
 * another thread ({@link Mode#THREAD}: a one-thread "stream", in launch order). Placeholder
 * tokens take their ids from the previous sampled step's picks, as the backend would. The
 * engine's ordering mistakes show as wrong tokens or as the contract's errors thrown here: more
 * than two steps unawaited, awaits out of order or twice, a synchronous call with steps in
 * flight. Not thread-safe beyond that one engine thread plus its stream.
 */
public final class AsyncLaunchModel extends ForwardingModel {
    public enum Mode { DEFERRED, THREAD }

    private final Mode mode;
    private final ExecutorService stream;
    /** Launched steps not yet awaited, oldest first. */
    private final ArrayDeque<Step> unawaited = new ArrayDeque<>();
    /** The picks of the last sampled step that ran (the stream's order), for placeholders. */
    private int[] lastIds;
    private long launches;
    private long placeholderTokens;

    private final class Step implements PendingIds {
        final ForwardBatch batch;
        final KvCache kv;
        final DeviceSampling sampling;
        Future<int[]> running;
        boolean awaited;

        Step(ForwardBatch batch, KvCache kv, DeviceSampling sampling) {
            this.batch = batch;
            this.kv = kv;
            this.sampling = sampling;
        }

        @Override
        public int[] await() {
            if (awaited) {
                throw new IllegalStateException("step awaited twice");
            }
            if (unawaited.peekFirst() != this) {
                throw new IllegalStateException("steps awaited out of launch order");
            }
            unawaited.removeFirst();
            awaited = true;
            if (running == null) {
                return run(this);
            }
            try {
                return running.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted awaiting a step", e);
            } catch (ExecutionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
            }
        }
    }

    public AsyncLaunchModel(Model inner, Mode mode) {
        super(inner);
        if (!inner.samplesOnDevice()) {
            throw new IllegalArgumentException("AsyncLaunchModel wraps a model that samples on its backend");
        }
        this.mode = mode;
        this.stream = mode == Mode.THREAD
                ? Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon(true).name("fake-stream").unstarted(r))
                : null;
    }

    /** Steps launched so far. */
    public long launches() {
        return launches;
    }

    /** Launched steps not awaited yet. */
    public int unawaited() {
        return unawaited.size();
    }

    /** Tokens whose id came from the previous step's picks on the "backend". */
    public long placeholderTokens() {
        return placeholderTokens;
    }

    @Override
    public boolean launchesAsync() {
        return true;
    }

    @Override
    public boolean samplesOnDevice() {
        return true;
    }

    @Override
    public PendingIds launchSampled(ForwardBatch batch, KvCache kv, DeviceSampling sampling) {
        if (unawaited.size() >= 2) {
            throw new IllegalStateException("a third step launched with two unawaited");
        }
        if (sampling.rows() != batch.logitRows().length) {
            throw new IllegalArgumentException(sampling.rows() + " sampling rows for " + batch.logitRows().length
                    + " logit rows");
        }
        // the backend copies the inputs at launch: later changes to the host's arrays must not matter
        Step step = new Step(copy(batch), kv, sampling);
        unawaited.addLast(step);
        launches++;
        if (stream != null) {
            step.running = stream.submit(() -> run(step));
        }
        return step;
    }

    /** Runs one step in stream order: placeholders first take the previous step's picks. */
    private int[] run(Step step) {
        ForwardBatch b = step.batch;
        int[] tokens = b.tokenIds().clone();
        if (b.previousRows() != null) {
            for (int t = 0; t < tokens.length; t++) {
                int r = b.previousRows()[t];
                if (r >= 0) {
                    if (lastIds == null || r >= lastIds.length) {
                        throw new IllegalStateException("token " + t + " takes row " + r + " of a previous step with "
                                + (lastIds == null ? "no" : lastIds.length) + " rows");
                    }
                    tokens[t] = lastIds[r];
                    placeholderTokens++;
                }
            }
        }
        ForwardBatch resolved = new ForwardBatch(tokens, b.positions(), b.attention(), b.logitRows());
        // a failed step leaves the older picks in place, as a device buffer would: the next step
        // still runs, on stale ids, and the engine must discard what it gives its failed requests
        int[] ids = inner.forwardSampled(resolved, step.kv, step.sampling);
        lastIds = ids.clone();
        return ids;
    }

    private static ForwardBatch copy(ForwardBatch b) {
        AttentionMetadata m = b.attention();
        int[][] tables = new int[m.blockTables().length][];
        for (int i = 0; i < tables.length; i++) {
            tables[i] = m.blockTables()[i].clone();
        }
        AttentionMetadata mc = new AttentionMetadata(m.queryStart().clone(), m.seqLens().clone(), tables,
                m.slotMapping().clone(), m.blockSize());
        return new ForwardBatch(b.tokenIds().clone(), b.positions().clone(), mc, b.logitRows().clone(),
                b.previousRows() == null ? null : b.previousRows().clone());
    }

    private void requireIdle(String call) {
        if (!unawaited.isEmpty()) {
            throw new IllegalStateException(call + " with " + unawaited.size() + " launched steps unawaited");
        }
    }

    @Override
    public int[] forwardSampled(ForwardBatch batch, KvCache kv, DeviceSampling sampling) {
        requireIdle("forwardSampled");
        if (batch.takesPreviousIds()) {
            throw new IllegalArgumentException("forwardSampled takes no previous rows");
        }
        int[] ids = inner.forwardSampled(batch, kv, sampling);
        lastIds = ids.clone();
        return ids;
    }

    @Override
    public float[] forward(ForwardBatch batch, KvCache kv) {
        requireIdle("forward");
        if (batch.takesPreviousIds()) {
            throw new IllegalArgumentException("forward takes no previous rows");
        }
        lastIds = null;
        return inner.forward(batch, kv);
    }





    @Override
    public void close() {
        if (stream != null) {
            stream.shutdownNow();
        }
        super.close();
    }
}
