package dev.jlight.core.model;

import dev.jlight.core.backend.AttentionMetadata;
import dev.jlight.core.backend.Backend;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.backend.KvCacheSpec;
import dev.jlight.core.backend.PendingInts;
import dev.jlight.core.backend.RopeSpec;
import dev.jlight.core.backend.Tensor;
import dev.jlight.core.config.ModelConfig;
import dev.jlight.core.weights.DType;
import dev.jlight.core.weights.WeightTensor;
import dev.jlight.core.weights.Weights;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The Llama family (Llama 2, Llama 3/3.1/3.2, Mistral, and anything else with HF's
 * LlamaForCausalLM layout): pre-norm decoder layers of GQA attention with rotary embeddings and
 * a SwiGLU MLP. Only the math lives here; the engine supplies the flat batch and the paged cache.
 *
 * <p>The residual stream is read only through the norm of the matmul after it and written only
 * by the matmul that ends each sub-layer ({@code rmsNormMatmul}, {@code matmulAddResidual}), so
 * a backend can fold both into its matmuls. Where a hook must see a sub-layer's output
 * ({@link #fusesResidualIntoMatmuls}), the output goes to a delta buffer and is added to the
 * residual by the norm that follows it ({@code addRmsNorm}).
 *
 * <p>Variants override hooks instead of copying the forward: {@link #qkvBias()} (Qwen2),
 * {@link #loadFeedForward} (Mixtral's experts), {@link #scaleEmbeddings},
 * {@link #scaleSubLayerOutput} and {@link #postProcessLogits} (MiniCPM),
 * {@link #fusesResidualIntoMatmuls} (MiniCPM, Mixtral).
 */
public class LlamaModel implements Model {
    /** HF weight names of layer i start with this. */
    protected static final String LAYER = "model.layers.%d.";

    protected final ModelConfig config;
    protected final Backend backend;
    private final RopeSpec rope;
    private final Tensor embedTokens;
    private final Tensor finalNorm;
    private final Tensor lmHead;
    private final List<Layer> layers;
    private final float attentionScale;
    private final StepBuffers buffers;
    private final StepScratch scratch;
    private final PickedIds picked;

    /** One decoder layer's weights. Biases are null when the model has none. */
    record Layer(Tensor inputNorm, Tensor qkv, Tensor qBias, Tensor kBias, Tensor vBias, Tensor o,
                 Tensor postNorm, FeedForward ffn) {
    }

    public LlamaModel(ModelConfig config, Weights weights, Backend backend, LoadProgress progress) {
        this.config = config;
        this.backend = backend;
        this.rope = config.rope();
        this.attentionScale = (float) (1.0 / Math.sqrt(config.headDim()));
        int h = config.hiddenSize();
        int v = config.vocabSize();
        this.embedTokens = load(weights, progress, "model.embed_tokens.weight", v, h);
        List<Layer> ls = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            ls.add(loadLayer(weights, progress, i));
        }
        this.layers = List.copyOf(ls);
        this.finalNorm = load(weights, progress, "model.norm.weight", h);
        if (config.tieWordEmbeddings()) {
            this.lmHead = embedTokens;
        } else {
            this.lmHead = load(weights, progress, "lm_head.weight", v, h);
        }
        this.buffers = new StepBuffers();
        this.scratch = new StepScratch(backend);
        this.picked = new PickedIds(backend);
    }

    private Layer loadLayer(Weights w, LoadProgress p, int i) {
        String pre = LAYER.formatted(i);
        int h = config.hiddenSize();
        int q = config.qDim();
        int kv = config.kvDim();
        Tensor qkv = backend.concatRows(
                load(w, p, pre + "self_attn.q_proj.weight", q, h),
                load(w, p, pre + "self_attn.k_proj.weight", kv, h),
                load(w, p, pre + "self_attn.v_proj.weight", kv, h));
        boolean bias = qkvBias();
        Tensor qb = bias ? load(w, p, pre + "self_attn.q_proj.bias", q) : null;
        Tensor kb = bias ? load(w, p, pre + "self_attn.k_proj.bias", kv) : null;
        Tensor vb = bias ? load(w, p, pre + "self_attn.v_proj.bias", kv) : null;
        return new Layer(
                load(w, p, pre + "input_layernorm.weight", h),
                qkv, qb, kb, vb,
                load(w, p, pre + "self_attn.o_proj.weight", h, q),
                load(w, p, pre + "post_attention_layernorm.weight", h),
                loadFeedForward(w, p, i));
    }

    /** Whether q/k/v have biases: the config's attention_bias (Qwen2 always has them). */
    protected boolean qkvBias() {
        return config.attentionBias();
    }

    /** Layer i's feed-forward sub-layer: the dense SwiGLU MLP (Mixtral: routed experts). */
    protected FeedForward loadFeedForward(Weights w, LoadProgress p, int i) {
        String pre = LAYER.formatted(i);
        int h = config.hiddenSize();
        int inter = config.intermediateSize();
        Tensor gateUp = backend.concatRows(
                load(w, p, pre + "mlp.gate_proj.weight", inter, h),
                load(w, p, pre + "mlp.up_proj.weight", inter, h));
        return new DenseMlp(backend, gateUp, load(w, p, pre + "mlp.down_proj.weight", h, inter), inter);
    }

    protected Tensor load(Weights w, LoadProgress progress, String name, long... shape) {
        WeightTensor t = w.require(name, shape);
        Tensor out = backend.weight(t);
        progress.loaded(t.data().byteSize());
        return out;
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public int vocabSize() {
        return config.vocabSize();
    }

    @Override
    public KvCacheSpec kvCacheSpec(int numBlocks, int blockSize) {
        DType kvType = backend.activationDType() == DType.F32 ? DType.F32 : DType.BF16;
        return new KvCacheSpec(config.numLayers(), numBlocks, blockSize, config.numKvHeads(), config.headDim(), kvType);
    }

    @Override
    public float[] forward(ForwardBatch batch, KvCache kv) {
        int r = batch.logitRows().length;
        StepBuffers.Views b = buffers.views(batch.numTokens(), r);
        if (!logits(b, batch, kv, null, null)) {
            return new float[0];
        }
        float[] out = new float[r * config.vocabSize()];
        backend.download(b.logits(), MemorySegment.ofArray(out));
        return out;
    }

    @Override
    public boolean samplesOnDevice() {
        return backend.supportsSampling();
    }

    @Override
    public int[] forwardSampled(ForwardBatch batch, KvCache kv, DeviceSampling sampling) {
        return sampledStep(batch, kv, sampling, false).await();
    }

    /** A backend that queues its work and downloads asynchronously (a GPU), and samples. */
    @Override
    public boolean launchesAsync() {
        return backend.downloadsAsync() && backend.supportsSampling();
    }

    /**
     * Queues the step, previous-step ids taken on the backend, and returns while it runs; the CPU
     * backend (which does not launch asynchronously) runs it at once, as {@link Model} says.
     */
    @Override
    public PendingIds launchSampled(ForwardBatch batch, KvCache kv, DeviceSampling sampling) {
        if (!launchesAsync()) {
            return Model.super.launchSampled(batch, kv, sampling);
        }
        return sampledStep(batch, kv, sampling, true)::await;
    }

    /**
     * A step that picks its ids on the backend. {@code launch}: the batch's previous rows are taken
     * from the last sampled step's ids on the backend and the ids come back asynchronously;
     * otherwise they are downloaded before this returns (forwardSampled, unchanged).
     */
    private PendingInts sampledStep(ForwardBatch batch, KvCache kv, DeviceSampling sampling, boolean launch) {
        int r = batch.logitRows().length;
        if (sampling.rows() != r) {
            throw new IllegalArgumentException((launch ? "launchSampled: " : "forwardSampled: ") + sampling.rows()
                    + " sampling rows for " + r + " logit rows");
        }
        int[] previousRows = launch ? batch.previousRows() : null;
        Tensor previous = previousRows == null ? null : picked.previous(previousRows, r);
        StepBuffers.Views b = buffers.views(batch.numTokens(), r);
        if (!logits(b, batch, kv, sampling, previous)) {
            return PendingInts.done(new int[0]);
        }
        Tensor target = picked.target(r);
        Tensor ids = backend.sliceRows(target, 0, r);
        backend.sample(ids, b.logits(), b.sampling());
        PendingInts out;
        if (launch) {
            out = backend.downloadIntsAsync(ids);
        } else {
            int[] now = new int[r];
            backend.download(ids, MemorySegment.ofArray(now));
            out = PendingInts.done(now);
        }
        picked.picked(target, r);
        return out;
    }

    /**
     * Uploads the step's inputs (all before the first op, as CUDA graph capture needs), takes the
     * ids of tokens that the previous sampled step picked from {@code previous} (null: the batch
     * has no previous rows), runs the layers and leaves the logits of the batch's logit rows in
     * {@code b.logits()}; false when the batch has no logit rows.
     */
    private boolean logits(StepBuffers.Views b, ForwardBatch batch, KvCache kv, DeviceSampling sampling,
                           Tensor previous) {
        int r = batch.logitRows().length;
        uploadInts(b.ids(), batch.tokenIds());
        uploadInts(b.positions(), batch.positions());
        uploadInts(b.logitRows(), batch.logitRows());
        if (sampling != null && r > 0) {
            backend.upload(b.sampling(), MemorySegment.ofArray(sampling.packed()));
        }
        if (previous != null) {
            uploadInts(b.previousRows(), batch.previousRows());
        }
        AttentionMetadata meta = batch.attention();

        if (previous != null) {
            backend.takePreviousIds(b.ids(), previous, b.previousRows());
        }
        backend.embedding(b.residual(), embedTokens, b.ids());
        scaleEmbeddings(b.residual());
        scratch.begin(batch.numTokens());
        if (fusesResidualIntoMatmuls()) {
            layersFused(b, kv, meta);
        } else {
            layersWithDeltas(b, kv, meta);
        }
        if (r == 0) {
            return false;
        }
        backend.gatherRows(b.selected(), b.normed(), b.logitRows());
        backend.matmul(b.logits(), b.selected(), lmHead);
        postProcessLogits(b.logits());
        return true;
    }

    /**
     * The layers with every norm taken by the matmul after it and every sub-layer output added by
     * the matmul that makes it (see Backend#rmsNormMatmul, #matmulAddResidual): the residual is
     * complete after each sub-layer, so the final norm has nothing pending.
     */
    private void layersFused(StepBuffers.Views b, KvCache kv, AttentionMetadata meta) {
        float eps = (float) config.rmsNormEps();
        for (int i = 0; i < layers.size(); i++) {
            Layer layer = layers.get(i);
            backend.rmsNormMatmul(b.qkv(), b.normed(), b.residual(), layer.inputNorm(), eps, layer.qkv());
            attention(b, layer, i, kv, meta);
            backend.matmulAddResidual(b.residual(), b.delta(), b.attnOut(), layer.o());
            layer.ffn().addToResidual(b.residual(), layer.postNorm(), eps, b.normed(), b.delta(), scratch);
        }
        backend.rmsNorm(b.normed(), b.residual(), finalNorm, eps);
    }

    /**
     * The layers with each sub-layer's output in b.delta(), where {@link #scaleSubLayerOutput}
     * must see it; the norm after it does the residual add (addRmsNorm).
     */
    private void layersWithDeltas(StepBuffers.Views b, KvCache kv, AttentionMetadata meta) {
        Tensor pendingDelta = null; // sub-layer output not yet added to the residual
        for (int i = 0; i < layers.size(); i++) {
            Layer layer = layers.get(i);
            normInto(b, pendingDelta, layer.inputNorm());
            backend.matmul(b.qkv(), b.normed(), layer.qkv());
            attention(b, layer, i, kv, meta);
            backend.matmul(b.delta(), b.attnOut(), layer.o());
            scaleSubLayerOutput(b.delta());
            backend.addRmsNorm(b.normed(), b.residual(), b.delta(), layer.postNorm(), (float) config.rmsNormEps());
            layer.ffn().forward(b.delta(), b.normed(), scratch);
            scaleSubLayerOutput(b.delta());
            pendingDelta = b.delta();
        }
        normInto(b, pendingDelta, finalNorm);
    }

    /**
     * Whether the layers may add each sub-layer's output straight into the residual stream
     * (layersFused): true unless something must see the output first ({@link #scaleSubLayerOutput}
     * in MiniCPM) or the feed-forward's ops gain nothing from it (Mixtral's experts).
     */
    protected boolean fusesResidualIntoMatmuls() {
        return true;
    }

    /** normed = norm(residual (+= pending delta)). */
    private void normInto(StepBuffers.Views b, Tensor pendingDelta, Tensor weight) {
        float eps = (float) config.rmsNormEps();
        if (pendingDelta == null) {
            backend.rmsNorm(b.normed(), b.residual(), weight, eps);
        } else {
            backend.addRmsNorm(b.normed(), b.residual(), pendingDelta, weight, eps);
        }
    }

    /** attnOut = attention over the layer's q, k, v (already in b.qkv()), with k and v cached. */
    private void attention(StepBuffers.Views b, Layer layer, int index, KvCache kv, AttentionMetadata meta) {
        int q = config.qDim();
        int kvd = config.kvDim();
        Tensor qv = backend.sliceCols(b.qkv(), 0, q);
        Tensor kvK = backend.sliceCols(b.qkv(), q, q + kvd);
        Tensor kvV = backend.sliceCols(b.qkv(), q + kvd, q + 2L * kvd);
        if (layer.qBias() != null) {
            backend.addBias(qv, layer.qBias());
            backend.addBias(kvK, layer.kBias());
            backend.addBias(kvV, layer.vBias());
        }
        backend.ropeAndWriteKv(qv, kvK, kvV, b.positions(), rope, config.numHeads(), config.numKvHeads(), kv, index,
                meta);
        backend.attention(b.attnOut(), qv, kv, index, meta, config.numHeads(), attentionScale);
    }

    /** Hook for architectures that scale the token embeddings (MiniCPM). residual [T,H]. */
    protected void scaleEmbeddings(Tensor residual) {
    }

    /** Hook for architectures that scale each sub-layer's output before the residual add (MiniCPM). */
    protected void scaleSubLayerOutput(Tensor delta) {
    }

    /** Hook for architectures that scale logits (MiniCPM). logits [R,V] f32. */
    protected void postProcessLogits(Tensor logits) {
    }

    private void uploadInts(Tensor dst, int[] values) {
        if (values.length > 0) {
            backend.upload(dst, MemorySegment.ofArray(values));
        }
    }

    @Override
    public void close() {
        buffers.close();
        scratch.clear();
    }

    /**
     * Activation buffers sized for the largest step seen so far, grown (never per step) when a
     * bigger batch arrives; each step uses row views of them.
     */
    private final class StepBuffers implements AutoCloseable {
        /** Index tensors are [n, 1] I32 so row views apply to them as to activations. */
        record Views(Tensor ids, Tensor positions, Tensor logitRows, Tensor residual, Tensor normed, Tensor qkv,
                     Tensor attnOut, Tensor delta, Tensor selected, Tensor logits, Tensor sampling,
                     Tensor previousRows) {
        }

        private int capTokens;
        private int capRows;
        private Views full;

        Views views(int tokens, int rows) {
            if (tokens > capTokens || rows > capRows || full == null) {
                // grow geometrically so a slowly rising batch size reallocates O(log n) times, each
                // dimension only when it is exceeded (growing the token buffers with every rise of
                // the row count took them to 4x the step budget on the H100 serving run), and the
                // caps change only once the buffers exist: a failed allocation (device memory)
                // must not leave caps that the old, smaller buffers do not have
                int t = tokens > capTokens ? Math.max(tokens, Math.max(16, 2 * capTokens)) : capTokens;
                int r = rows > capRows ? Math.max(rows, Math.max(1, 2 * capRows)) : capRows;
                full = allocate(t, r);
                capTokens = t;
                capRows = r;
            }
            return new Views(
                    rowsOf(full.ids(), tokens), rowsOf(full.positions(), tokens), rowsOf(full.logitRows(), rows),
                    rowsOf(full.residual(), tokens), rowsOf(full.normed(), tokens), rowsOf(full.qkv(), tokens),
                    rowsOf(full.attnOut(), tokens), rowsOf(full.delta(), tokens),
                    rowsOf(full.selected(), rows), rowsOf(full.logits(), rows),
                    rowsOf(full.sampling(), rows), rowsOf(full.previousRows(), tokens));
        }

        private Tensor rowsOf(Tensor t, int n) {
            return backend.sliceRows(t, 0, n);
        }

        private Views allocate(int t, int r) {
            DType act = backend.activationDType();
            int h = config.hiddenSize();
            return new Views(
                    backend.allocate(DType.I32, t, 1), backend.allocate(DType.I32, t, 1), backend.allocate(DType.I32, r, 1),
                    backend.allocate(act, t, h), backend.allocate(act, t, h),
                    backend.allocate(act, t, config.qDim() + 2L * config.kvDim()),
                    backend.allocate(act, t, config.qDim()), backend.allocate(act, t, h),
                    backend.allocate(act, r, h), backend.allocate(DType.F32, r, config.vocabSize()),
                    // DeviceSampling.packed(): FIELDS doubles per row, as pairs of I32
                    backend.allocate(DType.I32, r, 2L * DeviceSampling.FIELDS), backend.allocate(DType.I32, t, 1));
        }

        @Override
        public void close() {
            full = null;
        }
    }

}
