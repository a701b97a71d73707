package dev.jlight.cuda;

import dev.jlight.core.JLightException;
import dev.jlight.core.backend.AttentionMetadata;
import dev.jlight.core.backend.Backend;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.backend.KvCacheSpec;
import dev.jlight.core.config.ModelConfig;
import dev.jlight.core.model.DeviceSampling;
import dev.jlight.core.model.ForwardBatch;
import dev.jlight.core.model.Model;
import dev.jlight.core.model.PendingIds;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A {@link Model} that runs decode steps of a wrapped model on a {@link CudaBackend} from CUDA
 * graphs (vLLM's cudagraph mode for decode): a step of B sequences is padded to the next
 * capture size (1, 2, 4, 8, 16, 24, 32, 48, 64, ..., 256) with dummy sequences (token 0 at
 * position 0, K/V write skipped, logits dropped), its block tables padded to a fixed width, so
 * every step of one size issues the same kernels with the same arguments. The first step of a
 * size runs eagerly (plans, lazy uploads), the second is captured, later ones are replayed: the
 * model's forward still runs on the host, uploading its inputs into the same device buffers, but
 * its ops are only checked against the recording and the whole step is one graph launch.
 *
 * <p>{@link #launchSampled} (the engine's overlapped steps) is graphed the same way, with its own
 * graphs: the step's previous rows are always passed (padded with -1, all -1 when the batch has
 * none), so its graphs always hold the id-patch kernel and the dummies keep their token 0.
 *
 * <p>Anything else runs eagerly: prefill and mixed steps, more than 256 sequences, contexts past
 * {@code maxModelLen}, steps where some sequence does not sample, or a different KV cache. A
 * replay that meets different work (the model reallocated its buffers, say) runs the step
 * eagerly, drops the graph and captures again later; a capture that fails runs the step eagerly,
 * and after three failures a size stays eager. So the results are always the eager ones of the
 * padded batch.
 *
 * <p>Not thread-safe, like the backend: the engine thread drives it. {@link #close()} frees the
 * graphs, not the wrapped model.
 */
public final class CudaGraphRunner implements Model {
    private static final int[] SIZES = {1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 160, 192, 224, 256};
    private static final int MAX_FAILURES = 3;

    /** Counters since construction. */
    public record Stats(long eagerSteps, long warmups, long captures, long replays, long fallbacks,
                        long captureFailures, String lastProblem) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%d eager steps, %d warm-ups, %d captures, %d replays, %d fallbacks,"
                    + " %d failed captures%s", eagerSteps, warmups, captures, replays, fallbacks, captureFailures,
                    lastProblem == null ? "" : " (last: " + lastProblem + ")");
        }
    }

    private static final class Slot {
        boolean warmed;
        CudaGraph graph;
        int failures;
    }

    private final Model model;
    private final CudaBackend gpu;
    private final KvCache kv;
    private final int blockSize;
    private final int maxBlocks;
    private final int maxContext;
    private final int vocab;
    /** Which model call a graph serves: they issue different work, so each has its own graphs per size. */
    private enum Kind { LOGITS, SAMPLED, LAUNCHED }

    private record Key(Kind kind, int size) {
    }

    private final Map<Key, Slot> slots = new HashMap<>();
    private long eager, warmups, captures, replays, fallbacks, failures;
    private String lastProblem;
    private boolean enabled;

    /**
     * @param model       a model whose backend is a {@link CudaBackend} (or wraps one: see the
     *                    other constructor)
     * @param kv          the KV cache the engine passes to every step
     * @param maxModelLen the longest context a graphed step may have
     */
    public CudaGraphRunner(Model model, KvCache kv, int maxModelLen) {
        this(model, cudaOf(model.backend()), kv, maxModelLen);
    }

    public CudaGraphRunner(Model model, CudaBackend gpu, KvCache kv, int maxModelLen) {
        this.model = model;
        this.gpu = gpu;
        this.kv = kv;
        this.blockSize = kv.spec().blockSize();
        this.maxBlocks = (maxModelLen + blockSize - 1) / blockSize;
        this.maxContext = maxBlocks * blockSize;
        this.vocab = model.vocabSize();
        this.enabled = gpu.graphsSupported() && !"false".equals(System.getProperty("jlight.cuda.graphs"));
    }

    private static CudaBackend cudaOf(Backend b) {
        if (b instanceof CudaBackend c) {
            return c;
        }
        throw new JLightException("CudaGraphRunner needs a model on the cuda backend, not " + b.name());
    }

    public Stats stats() {
        return new Stats(eager, warmups, captures, replays, fallbacks, failures, lastProblem);
    }

    /** Turns graphs off (every step eager) or back on. */
    public void setEnabled(boolean on) {
        this.enabled = on && gpu.graphsSupported();
    }

    @Override
    public float[] forward(ForwardBatch batch, KvCache cache) {
        float[] logits = step(batch, cache, Kind.LOGITS, (b, size) -> model.forward(b, cache));
        int want = batch.logitRows().length * vocab;
        return logits.length == want ? logits : Arrays.copyOf(logits, want);
    }

    @Override
    public boolean samplesOnDevice() {
        return model.samplesOnDevice();
    }

    /**
     * A step that samples on the device, graphed like {@link #forward}: the params (with the
     * host-drawn uniforms) are uploaded with the other inputs, the sample kernel is part of the
     * graph, and only the R token ids come back. Its graphs are kept apart from the logits
     * path's, so steps that alternate between the two do not invalidate each other's.
     */
    @Override
    public int[] forwardSampled(ForwardBatch batch, KvCache cache, DeviceSampling sampling) {
        int[] ids = step(batch, cache, Kind.SAMPLED,
                (b, size) -> model.forwardSampled(b, cache, size == 0 ? sampling : padSampling(sampling, size)));
        return trimmed(ids, batch.logitRows().length);
    }

    @Override
    public boolean launchesAsync() {
        return model.launchesAsync();
    }

    /**
     * An overlapped step ({@link Model#launchSampled}): graphed like {@link #forwardSampled} (its
     * own graphs), returning as soon as the step and its ids' copy are queued. The padded rows'
     * ids are dropped at the await.
     */
    @Override
    public PendingIds launchSampled(ForwardBatch batch, KvCache cache, DeviceSampling sampling) {
        if (!model.launchesAsync()) {
            return model.launchSampled(batch, cache, sampling);
        }
        ForwardBatch withRows = batch.previousRows() != null ? batch
                : new ForwardBatch(batch.tokenIds(), batch.positions(), batch.attention(), batch.logitRows(),
                        ForwardBatch.noPreviousRows(batch.numTokens()));
        PendingIds ids = step(withRows, cache, Kind.LAUNCHED,
                (b, size) -> model.launchSampled(b, cache, size == 0 ? sampling : padSampling(sampling, size)));
        int want = batch.logitRows().length;
        return () -> trimmed(ids.await(), want);
    }

    private static int[] trimmed(int[] ids, int want) {
        return ids.length == want ? ids : Arrays.copyOf(ids, want);
    }

    /** One step of the wrapped model: {@code run} gets the batch (padded to {@code size}, or 0: eager as is). */
    private interface Run<T> {
        T apply(ForwardBatch batch, int size);
    }

    private <T> T step(ForwardBatch batch, KvCache cache, Kind kind, Run<T> run) {
        int size = graphSize(batch, cache);
        if (size == 0) {
            eager++;
            return run.apply(batch, 0);
        }
        ForwardBatch padded = pad(batch, size);
        Slot slot = slots.computeIfAbsent(new Key(kind, size), k -> new Slot());
        T out;
        if (!slot.warmed || slot.failures >= MAX_FAILURES) {
            slot.warmed = true;
            if (slot.failures < MAX_FAILURES) {
                warmups++;
            } else {
                eager++;
            }
            out = run.apply(padded, size);
        } else if (slot.graph == null) {
            out = capture(slot, padded, size, cache, run);
        } else {
            CudaGraph g = slot.graph;
            gpu.prepareStep(padded.attention(), cache.spec());
            gpu.graphBegin(g, false);
            try {
                out = run.apply(padded, size);
            } finally {
                gpu.graphEnd();
            }
            if (g.stale) {
                fallbacks++;
                lastProblem = "replay of " + size + ": " + g.staleReason;
                slot.graph = null;
                gpu.destroyGraph(g);
            } else {
                replays++;
            }
        }
        return out;
    }

    private <T> T capture(Slot slot, ForwardBatch padded, int size, KvCache cache, Run<T> run) {
        CudaGraph g = gpu.newGraph(maxContext);
        gpu.prepareStep(padded.attention(), cache.spec());
        T out = null;
        RuntimeException error = null;
        gpu.graphBegin(g, true);
        try {
            out = run.apply(padded, size);
        } catch (RuntimeException e) {
            error = e;
        } finally {
            gpu.graphEnd();
        }
        if (error == null && g.instantiated() && !g.stale) {
            slot.graph = g;
            captures++;
            return out;
        }
        failures++;
        slot.failures++;
        lastProblem = "capture of " + padded.numTokens() + ": "
                + (error != null ? error.getMessage() : g.staleReason != null ? g.staleReason : "no device work");
        if (g.instantiated()) {
            gpu.destroyGraph(g);
        }
        // a failed capture may not have run the step's work: run it eagerly (K/V writes are idempotent)
        return run.apply(padded, size);
    }

    /** The sampling spec padded to {@code size} rows with greedy dummies (their ids are dropped). */
    static DeviceSampling padSampling(DeviceSampling s, int size) {
        int n = s.rows();
        if (n == size) {
            return s;
        }
        double[] topP = Arrays.copyOf(s.topP(), size);
        Arrays.fill(topP, n, size, 1.0);
        return new DeviceSampling(Arrays.copyOf(s.temperature(), size), Arrays.copyOf(s.topK(), size), topP,
                Arrays.copyOf(s.minP(), size), Arrays.copyOf(s.uniform(), size));
    }

    /** The capture size for a step, or 0 when it runs eagerly. */
    private int graphSize(ForwardBatch batch, KvCache cache) {
        if (!enabled || cache != kv) {
            return 0;
        }
        AttentionMetadata m = batch.attention();
        int n = m.numSeqs();
        if (n == 0 || !m.isDecodeOnly() || n > SIZES[SIZES.length - 1] || m.maxSeqLen() > maxContext
                || m.blockSize() != blockSize) {
            return 0;
        }
        int[] rows = batch.logitRows();
        if (rows.length != n) {
            return 0;
        }
        for (int i = 0; i < n; i++) {
            if (rows[i] != i) {
                return 0;
            }
        }
        for (int s : SIZES) {
            if (s >= n) {
                return s;
            }
        }
        return 0;
    }

    /** The step padded to {@code size} sequences, block tables padded to {@code maxBlocks}. */
    ForwardBatch pad(ForwardBatch batch, int size) {
        AttentionMetadata m = batch.attention();
        int n = m.numSeqs();
        int[] ids = Arrays.copyOf(batch.tokenIds(), size);
        int[] positions = Arrays.copyOf(batch.positions(), size);
        int[] queryStart = new int[size + 1];
        int[] seqLens = new int[size];
        int[] slots = new int[size];
        int[][] tables = new int[size][];
        int[] rows = new int[size];
        int[] previous = batch.previousRows() == null ? null : Arrays.copyOf(batch.previousRows(), size);
        for (int i = 0; i < size; i++) {
            queryStart[i + 1] = i + 1;
            rows[i] = i;
            if (i < n) {
                seqLens[i] = m.seqLens()[i];
                slots[i] = m.slotMapping()[i];
                int[] t = m.blockTables()[i];
                tables[i] = t.length == maxBlocks ? t : Arrays.copyOf(t, maxBlocks); // needed blocks <= maxBlocks
            } else {
                seqLens[i] = 1; // a dummy: attends to position 0 of block 0, writes nothing
                slots[i] = -1;
                tables[i] = new int[maxBlocks];
                if (previous != null) {
                    previous[i] = -1; // keeps its token 0
                }
            }
        }
        return new ForwardBatch(ids, positions, new AttentionMetadata(queryStart, seqLens, tables, slots, blockSize),
                rows, previous);
    }

    @Override
    public ModelConfig config() {
        return model.config();
    }

    @Override
    public Backend backend() {
        return model.backend();
    }

    @Override
    public KvCacheSpec kvCacheSpec(int numBlocks, int blockSize) {
        return model.kvCacheSpec(numBlocks, blockSize);
    }

    @Override
    public int vocabSize() {
        return vocab;
    }

    /** Frees the graphs (the wrapped model stays open: its owner closes it). */
    @Override
    public void close() {
        for (Slot s : slots.values()) {
            if (s.graph != null) {
                gpu.destroyGraph(s.graph);
                s.graph = null;
            }
        }
    }
}
