package dev.jlight.cuda.bench;

import dev.jlight.core.backend.AttentionMetadata;
import dev.jlight.core.backend.Backend;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.backend.KvCacheSpec;
import dev.jlight.core.backend.PendingInts;
import dev.jlight.core.backend.RopeSpec;
import dev.jlight.core.backend.Tensor;
import dev.jlight.core.weights.DType;
import dev.jlight.core.weights.WeightTensor;
import dev.jlight.cuda.CudaBackend;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link CudaBackend} seen through a wrapper that, while profiling is on, brackets every op
 * with device events (a {@link CudaBackend.Timeline}) under a category label: where a step's
 * device time goes. Off, it only delegates (one branch per op). It also keeps the model's
 * weight tensors (after fusion) for the memory-floor read.
 */
final class ProfilingBackend implements Backend {
    private final CudaBackend gpu;
    private final Map<Tensor, Boolean> weights = new IdentityHashMap<>();
    private final Map<String, String> matmulNames = new HashMap<>();
    private CudaBackend.Timeline timeline;
    private boolean on;

    ProfilingBackend(CudaBackend gpu) {
        this.gpu = gpu;
    }

    CudaBackend gpu() {
        return gpu;
    }

    /** Names matmuls by weight shape in the breakdown ("qkv_proj" for N x K). */
    void nameMatmul(long n, long k, String name) {
        matmulNames.put(n + "x" + k, name);
    }

    List<Tensor> weights() {
        return new ArrayList<>(weights.keySet());
    }

    void profile(CudaBackend.Timeline t) {
        this.timeline = t;
        this.on = t != null;
    }

    private int begin() {
        return on ? timeline.begin() : -1;
    }

    private void end(int start, String label) {
        if (on) {
            timeline.end(start, label);
        }
    }

    @Override
    public String name() {
        return gpu.name();
    }

    @Override
    public DType activationDType() {
        return gpu.activationDType();
    }

    @Override
    public Tensor weight(WeightTensor w) {
        Tensor t = gpu.weight(w);
        weights.put(t, Boolean.TRUE);
        return t;
    }

    @Override
    public Tensor concatRows(Tensor... parts) {
        Tensor t = gpu.concatRows(parts);
        for (Tensor p : parts) {
            weights.remove(p);
        }
        weights.put(t, Boolean.TRUE);
        return t;
    }

    @Override
    public Tensor allocate(DType dtype, long... shape) {
        return gpu.allocate(dtype, shape);
    }

    @Override
    public Tensor sliceRows(Tensor t, long from, long to) {
        return gpu.sliceRows(t, from, to);
    }

    @Override
    public Tensor sliceCols(Tensor t, long from, long to) {
        return gpu.sliceCols(t, from, to);
    }

    @Override
    public void upload(Tensor dst, MemorySegment src) {
        int s = begin();
        gpu.upload(dst, src);
        end(s, "upload (ids, positions, metadata)");
    }

    @Override
    public void download(Tensor src, MemorySegment dst) {
        int s = begin();
        gpu.download(src, dst);
        end(s, "download logits");
    }

    @Override
    public KvCache allocateKvCache(KvCacheSpec spec) {
        return gpu.allocateKvCache(spec);
    }

    @Override
    public void embedding(Tensor out, Tensor table, Tensor ids) {
        int s = begin();
        gpu.embedding(out, table, ids);
        end(s, "embedding");
    }

    @Override
    public void rmsNorm(Tensor out, Tensor x, Tensor weight, float eps) {
        int s = begin();
        gpu.rmsNorm(out, x, weight, eps);
        end(s, "rmsNorm / addRmsNorm");
    }

    @Override
    public void addRmsNorm(Tensor out, Tensor residual, Tensor x, Tensor weight, float eps) {
        int s = begin();
        gpu.addRmsNorm(out, residual, x, weight, eps);
        end(s, "rmsNorm / addRmsNorm");
    }

    @Override
    public void matmul(Tensor out, Tensor x, Tensor w) {
        int s = begin();
        gpu.matmul(out, x, w);
        if (on) {
            end(s, "matmul " + matmulName(w));
        }
    }

    // the norm / residual-add fusions: unfused (CudaBackend.fuseNorm / fuseResidualAdd off), Backend's
    // compositions through this wrapper, so each op is timed on its own (as ropeAndWriteKv)

    @Override
    public void matmulAddResidual(Tensor residual, Tensor delta, Tensor x, Tensor w) {
        if (!gpu.fuseResidualAdd()) {
            Backend.super.matmulAddResidual(residual, delta, x, w);
            return;
        }
        int s = begin();
        gpu.matmulAddResidual(residual, delta, x, w);
        end(s, "matmul " + matmulName(w) + " + residual add");
    }

    @Override
    public void rmsNormMatmul(Tensor out, Tensor normed, Tensor residual, Tensor normWeight, float eps, Tensor w) {
        if (!gpu.fuseNorm()) {
            Backend.super.rmsNormMatmul(out, normed, residual, normWeight, eps, w);
            return;
        }
        int s = begin();
        gpu.rmsNormMatmul(out, normed, residual, normWeight, eps, w);
        end(s, "rmsNorm + matmul " + matmulName(w));
    }

    @Override
    public void rmsNormMatmulSiluMul(Tensor out, Tensor gu, Tensor normed, Tensor residual, Tensor normWeight,
                                     float eps, Tensor gateUp) {
        if (!gpu.fuseNorm()) {
            Backend.super.rmsNormMatmulSiluMul(out, gu, normed, residual, normWeight, eps, gateUp);
            return;
        }
        int s = begin();
        gpu.rmsNormMatmulSiluMul(out, gu, normed, residual, normWeight, eps, gateUp);
        end(s, "rmsNorm + matmul gate_up_proj + siluMul");
    }

    private String matmulName(Tensor w) {
        return matmulNames.getOrDefault(w.rows() + "x" + w.cols(), w.rows() + "x" + w.cols());
    }

    @Override
    public void addBias(Tensor x, Tensor bias) {
        int s = begin();
        gpu.addBias(x, bias);
        end(s, "addBias");
    }

    @Override
    public void add(Tensor x, Tensor y) {
        int s = begin();
        gpu.add(x, y);
        end(s, "add");
    }

    @Override
    public void scale(Tensor x, float f) {
        int s = begin();
        gpu.scale(x, f);
        end(s, "scale");
    }

    @Override
    public void rope(Tensor q, Tensor k, Tensor positions, RopeSpec rope, int numHeads, int numKvHeads) {
        int s = begin();
        gpu.rope(q, k, positions, rope, numHeads, numKvHeads);
        end(s, "rope");
    }

    @Override
    public void ropeAndWriteKv(Tensor q, Tensor k, Tensor v, Tensor positions, RopeSpec rope, int numHeads,
                               int numKvHeads, KvCache cache, int layer, AttentionMetadata meta) {
        if (!gpu.fuseRopeKv()) { // the unfused pair, each op timed on its own
            rope(q, k, positions, rope, numHeads, numKvHeads);
            writeKv(cache, layer, k, v, meta);
            return;
        }
        int s = begin();
        gpu.ropeAndWriteKv(q, k, v, positions, rope, numHeads, numKvHeads, cache, layer, meta);
        end(s, "rope+writeKv (fused)");
    }

    @Override
    public void matmulSiluMul(Tensor out, Tensor gu, Tensor x, Tensor gateUp) {
        int s = begin();
        gpu.matmulSiluMul(out, gu, x, gateUp);
        end(s, "matmul gate_up_proj + siluMul");
    }

    @Override
    public void siluMul(Tensor out, Tensor gateUp) {
        int s = begin();
        gpu.siluMul(out, gateUp);
        end(s, "siluMul");
    }

    @Override
    public void moeTopK(Tensor topIds, Tensor topWeights, Tensor routerLogits, int k, boolean renormalize) {
        int s = begin();
        gpu.moeTopK(topIds, topWeights, routerLogits, k, renormalize);
        end(s, "moeTopK");
    }

    @Override
    public void moeExperts(Tensor out, Tensor x, Tensor gateUp, Tensor down, Tensor topIds, Tensor topWeights,
                           int numExperts) {
        int s = begin();
        gpu.moeExperts(out, x, gateUp, down, topIds, topWeights, numExperts);
        end(s, "moeExperts");
    }

    @Override
    public void writeKv(KvCache cache, int layer, Tensor k, Tensor v, AttentionMetadata meta) {
        int s = begin();
        gpu.writeKv(cache, layer, k, v, meta);
        end(s, "writeKv");
    }

    @Override
    public void attention(Tensor out, Tensor q, KvCache cache, int layer, AttentionMetadata meta, int numHeads,
                          float scale) {
        int s = begin();
        gpu.attention(out, q, cache, layer, meta, numHeads, scale);
        end(s, "attention");
    }

    @Override
    public boolean supportsSampling() {
        return gpu.supportsSampling();
    }

    @Override
    public void sample(Tensor ids, Tensor logits, Tensor params) {
        int s = begin();
        gpu.sample(ids, logits, params);
        end(s, "sample");
    }

    @Override
    public void gatherRows(Tensor out, Tensor x, Tensor rows) {
        int s = begin();
        gpu.gatherRows(out, x, rows);
        end(s, "gatherRows");
    }

    @Override
    public void takePreviousIds(Tensor ids, Tensor previous, Tensor previousRows) {
        int s = begin();
        gpu.takePreviousIds(ids, previous, previousRows);
        end(s, "takePreviousIds");
    }

    @Override
    public boolean downloadsAsync() {
        return gpu.downloadsAsync();
    }

    /** Not bracketed: the copy is still queued when this returns (a profiled step uses download). */
    @Override
    public PendingInts downloadIntsAsync(Tensor src) {
        return gpu.downloadIntsAsync(src);
    }

    @Override
    public void synchronize() {
        gpu.synchronize();
    }

    @Override
    public void close() {
        gpu.close();
    }
}
