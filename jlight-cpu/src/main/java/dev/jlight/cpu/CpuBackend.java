package dev.jlight.cpu;

import dev.jlight.core.backend.AttentionMetadata;
import dev.jlight.core.backend.Backend;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.backend.KvCacheSpec;
import dev.jlight.core.backend.RopeSpec;
import dev.jlight.core.backend.Tensor;
import dev.jlight.core.weights.DType;
import dev.jlight.core.weights.WeightTensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * The pure-Java CPU backend: f32 activations in native memory, weights used in place from their
 * (mapped) segments in F32/BF16/F16, kernels on the Vector API, one fixed pool of threads.
 *
 * <p>Threads: {@code new CpuBackend()} uses {@code -Djlight.cpu.threads} or, unset, every
 * available processor; the calling thread is one of them. Memory from {@link #allocate} comes
 * from an arena the backend owns and lives until {@link #close()}; KV caches have their own
 * arenas, closed by {@link KvCache#close()} or with the backend.
 */
public final class CpuBackend implements Backend {
    private final WorkerPool pool;
    private final Arena arena = Arena.ofShared();
    private final Rope rope = new Rope();
    private final Matmul matmul = new Matmul();
    private final CpuMoe moe = new CpuMoe(matmul);
    private final List<CpuKvCache> caches = new ArrayList<>();
    private boolean closed;

    public CpuBackend() {
        this(Integer.getInteger("jlight.cpu.threads", Runtime.getRuntime().availableProcessors()));
    }

    public CpuBackend(int threads) {
        this.pool = new WorkerPool(threads);
    }

    /** Threads the ops split over, the caller's included. */
    public int threads() {
        return pool.threads();
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public DType activationDType() {
        return DType.F32;
    }

    // ---- memory ---------------------------------------------------------------------------------

    @Override
    public Tensor weight(WeightTensor w) {
        long[] shape = w.shape().length == 0 ? new long[] {1} : w.shape().clone();
        long bytes = w.numel() * w.dtype().bytes();
        if (w.data().byteSize() < bytes) {
            throw new IllegalArgumentException("weight: " + w.describe() + " needs " + bytes + " bytes but has "
                    + w.data().byteSize());
        }
        return new CpuTensor(w.data().asSlice(0, bytes), w.dtype(), shape, shape[shape.length - 1]);
    }

    @Override
    public Tensor concatRows(Tensor... parts) {
        if (parts.length == 0) {
            throw new IllegalArgumentException("concatRows: no parts");
        }
        List<CpuTensor> flat = new ArrayList<>();
        for (Tensor p : parts) {
            CpuTensor c = cpu(p, "concatRows", "part");
            if (c.rank() > 2) {
                throw new IllegalArgumentException("concatRows: part " + Tensor.shapeString(c.shape()) + " is not 2-D");
            }
            if (c.cols() != parts[0].cols() || c.dtype() != parts[0].dtype()) {
                throw new IllegalArgumentException("concatRows: part " + c.dtype() + Tensor.shapeString(c.shape())
                        + " vs first part " + parts[0].dtype() + Tensor.shapeString(parts[0].shape()));
            }
            flat.addAll(List.of(c.parts()));
        }
        if (flat.size() == 1) {
            return flat.get(0);
        }
        long rows = 0;
        for (CpuTensor c : flat) {
            rows += c.rows();
        }
        return CpuTensor.concat(flat.toArray(new CpuTensor[0]), rows, parts[0].cols());
    }

    @Override
    public Tensor allocate(DType dtype, long... shape) {
        if (shape.length == 0) {
            throw new IllegalArgumentException("allocate: empty shape");
        }
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("allocate: negative dimension in " + Tensor.shapeString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        MemorySegment seg = arena.allocate(Math.max(1, n * dtype.bytes()), 64).asSlice(0, n * dtype.bytes());
        return new CpuTensor(seg, dtype, shape.clone(), shape[shape.length - 1]);
    }

    /**
     * Rows [from, to) of a tensor viewed as 2-D (rank > 2 flattens the leading dims). A 1-D
     * tensor counts as a column of rows: its elements [from, to), so a per-step index buffer
     * sized for the largest batch can be cut to the current one.
     */
    @Override
    public Tensor sliceRows(Tensor t, long from, long to) {
        CpuTensor c = cpu(t, "sliceRows", "t");
        boolean flat = c.rank() == 1;
        long rows = flat ? c.cols() : c.rows();
        if (from < 0 || from > to || to > rows) {
            throw new IllegalArgumentException("sliceRows: rows [" + from + ", " + to + ") of " + Tensor.shapeString(c.shape()));
        }
        if (flat) {
            return new CpuTensor(c.segment().asSlice(from * c.dtype().bytes(), (to - from) * c.dtype().bytes()),
                    c.dtype(), new long[] {to - from}, to - from);
        }
        if (c.isConcat()) {
            List<CpuTensor> keep = new ArrayList<>();
            long base = 0;
            for (CpuTensor p : c.partsUnsafe()) {
                long lo = Math.max(from, base);
                long hi = Math.min(to, base + p.rows());
                if (lo < hi) {
                    keep.add((CpuTensor) sliceRows(p, lo - base, hi - base));
                }
                base += p.rows();
            }
            if (keep.size() == 1) {
                return keep.get(0);
            }
            if (keep.isEmpty()) {
                CpuTensor p0 = c.partsUnsafe()[0];
                return sliceRows(p0, 0, 0);
            }
            return CpuTensor.concat(keep.toArray(new CpuTensor[0]), to - from, c.cols());
        }
        long n = to - from;
        MemorySegment seg = c.segment().asSlice(c.offset(from, 0),
                CpuTensor.spanBytes(n, c.cols(), c.rowStride(), c.dtype()));
        return new CpuTensor(seg, c.dtype(), new long[] {n, c.cols()}, c.rowStride());
    }

    @Override
    public Tensor sliceCols(Tensor t, long from, long to) {
        CpuTensor c = cpu(t, "sliceCols", "t");
        if (from < 0 || from > to || to > c.cols()) {
            throw new IllegalArgumentException("sliceCols: cols [" + from + ", " + to + ") of " + Tensor.shapeString(c.shape()));
        }
        long n = to - from;
        if (c.isConcat()) {
            CpuTensor[] ps = c.partsUnsafe().clone();
            for (int i = 0; i < ps.length; i++) {
                ps[i] = (CpuTensor) sliceCols(ps[i], from, to);
            }
            return CpuTensor.concat(ps, c.rows(), n);
        }
        long[] shape = c.rank() == 1 ? new long[] {n} : new long[] {c.rows(), n};
        MemorySegment seg = c.segment().asSlice(c.offset(0, from),
                CpuTensor.spanBytes(c.rows(), n, c.rowStride(), c.dtype()));
        return new CpuTensor(seg, c.dtype(), shape, c.rank() == 1 ? n : c.rowStride());
    }

    @Override
    public void upload(Tensor dst, MemorySegment src) {
        CpuTensor d = cpu(dst, "upload", "dst");
        d.requireDense("upload");
        long rowBytes = d.cols() * d.dtype().bytes();
        long need = d.rows() * rowBytes;
        if (src.byteSize() < need) {
            throw new IllegalArgumentException("upload: dst " + d.dtype() + Tensor.shapeString(d.shape()) + " needs "
                    + need + " bytes, src has " + src.byteSize());
        }
        if (d.isContiguous()) {
            MemorySegment.copy(src, 0, d.segment(), 0, need);
            return;
        }
        for (long r = 0; r < d.rows(); r++) {
            MemorySegment.copy(src, r * rowBytes, d.segment(), d.offset(r, 0), rowBytes);
        }
    }

    @Override
    public void download(Tensor src, MemorySegment dst) {
        CpuTensor s = cpu(src, "download", "src");
        long rowBytes = s.cols() * s.dtype().bytes();
        long need = s.rows() * rowBytes;
        if (dst.byteSize() < need) {
            throw new IllegalArgumentException("download: src " + s.dtype() + Tensor.shapeString(s.shape()) + " needs "
                    + need + " bytes, dst has " + dst.byteSize());
        }
        long at = 0;
        for (CpuTensor p : s.parts()) {
            if (p.isContiguous()) {
                long bytes = p.rows() * rowBytes;
                MemorySegment.copy(p.segment(), 0, dst, at, bytes);
                at += bytes;
            } else {
                for (long r = 0; r < p.rows(); r++, at += rowBytes) {
                    MemorySegment.copy(p.segment(), p.offset(r, 0), dst, at, rowBytes);
                }
            }
        }
    }

    @Override
    public synchronized KvCache allocateKvCache(KvCacheSpec spec) {
        CpuKvCache c = new CpuKvCache(spec);
        caches.add(c);
        return c;
    }

    // ---- ops ------------------------------------------------------------------------------------

    @Override
    public void embedding(Tensor out, Tensor table, Tensor ids) {
        CpuTensor o = act(out, "embedding", "out");
        CpuTensor tb = floats(table, "embedding", "table");
        int[] id = ints(ids, "embedding", "ids");
        if (o.rows() != id.length || o.cols() != tb.cols()) {
            throw mismatch("embedding", "out", o, "table", tb, id.length + " ids");
        }
        for (int t = 0; t < id.length; t++) {
            if (id[t] < 0 || id[t] >= tb.rows()) {
                throw new IllegalArgumentException("embedding: id " + id[t] + " at row " + t + " outside table "
                        + Tensor.shapeString(tb.shape()));
            }
        }
        Ops.embedding(pool, o, tb, id);
    }

    @Override
    public void rmsNorm(Tensor out, Tensor x, Tensor weight, float eps) {
        CpuTensor o = act(out, "rmsNorm", "out");
        CpuTensor xs = act(x, "rmsNorm", "x");
        CpuTensor w = floats(weight, "rmsNorm", "weight");
        sameShape("rmsNorm", "out", o, "x", xs);
        vectorOf("rmsNorm", "x", xs, "weight", w);
        Ops.rmsNorm(pool, o, xs, w, eps);
    }

    @Override
    public void addRmsNorm(Tensor out, Tensor residual, Tensor x, Tensor weight, float eps) {
        CpuTensor o = act(out, "addRmsNorm", "out");
        CpuTensor r = act(residual, "addRmsNorm", "residual");
        CpuTensor xs = act(x, "addRmsNorm", "x");
        CpuTensor w = floats(weight, "addRmsNorm", "weight");
        sameShape("addRmsNorm", "residual", r, "x", xs);
        sameShape("addRmsNorm", "out", o, "x", xs);
        vectorOf("addRmsNorm", "x", xs, "weight", w);
        Ops.addRmsNorm(pool, o, r, xs, w, eps);
    }

    @Override
    public void matmul(Tensor out, Tensor x, Tensor w) {
        CpuTensor o = act(out, "matmul", "out");
        CpuTensor xs = act(x, "matmul", "x");
        CpuTensor ws = cpu(w, "matmul", "w");
        if (!ws.dtype().isFloatWeight()) {
            throw new IllegalArgumentException("matmul: w is " + ws.dtype() + Tensor.shapeString(ws.shape())
                    + " (supported: F32, BF16, F16)");
        }
        if (xs.cols() != ws.cols()) {
            throw mismatch("matmul", "x", xs, "w", ws, null);
        }
        if (o.rows() != xs.rows() || o.cols() != ws.rows()) {
            throw new IllegalArgumentException("matmul: out " + Tensor.shapeString(o.shape()) + " vs x "
                    + Tensor.shapeString(xs.shape()) + " and w " + Tensor.shapeString(ws.shape()) + " (expected ["
                    + xs.rows() + ", " + ws.rows() + "])");
        }
        matmul.run(pool, o, xs, ws);
    }

    @Override
    public void addBias(Tensor x, Tensor bias) {
        CpuTensor xs = act(x, "addBias", "x");
        CpuTensor b = floats(bias, "addBias", "bias");
        vectorOf("addBias", "x", xs, "bias", b);
        Ops.addBias(pool, xs, b);
    }

    @Override
    public void add(Tensor x, Tensor y) {
        CpuTensor xs = act(x, "add", "x");
        CpuTensor ys = act(y, "add", "y");
        sameShape("add", "x", xs, "y", ys);
        Ops.add(pool, xs, ys);
    }

    @Override
    public void scale(Tensor x, float s) {
        Ops.scale(pool, act(x, "scale", "x"), s);
    }

    @Override
    public void rope(Tensor q, Tensor k, Tensor positions, RopeSpec spec, int numHeads, int numKvHeads) {
        CpuTensor qs = act(q, "rope", "q");
        CpuTensor ks = act(k, "rope", "k");
        int[] pos = ints(positions, "rope", "positions");
        int hd = spec.headDim();
        if (spec.rotaryDim() % 2 != 0 || spec.rotaryDim() > hd || spec.rotaryDim() <= 0) {
            throw new IllegalArgumentException("rope: rotaryDim " + spec.rotaryDim() + " with headDim " + hd);
        }
        if (qs.cols() != (long) numHeads * hd || ks.cols() != (long) numKvHeads * hd) {
            throw new IllegalArgumentException("rope: q " + Tensor.shapeString(qs.shape()) + " and k "
                    + Tensor.shapeString(ks.shape()) + " vs " + numHeads + " heads, " + numKvHeads + " kv heads of " + hd);
        }
        if (qs.rows() != pos.length || ks.rows() != pos.length) {
            throw new IllegalArgumentException("rope: q " + Tensor.shapeString(qs.shape()) + " and k "
                    + Tensor.shapeString(ks.shape()) + " vs " + pos.length + " positions");
        }
        rope.apply(pool, qs, ks, pos, spec, numHeads, numKvHeads);
    }

    @Override
    public void siluMul(Tensor out, Tensor gateUp) {
        CpuTensor o = act(out, "siluMul", "out");
        CpuTensor gu = act(gateUp, "siluMul", "gateUp");
        if (gu.rows() != o.rows() || gu.cols() != 2 * o.cols()) {
            throw mismatch("siluMul", "out", o, "gateUp", gu, null);
        }
        Ops.siluMul(pool, o, gu);
    }

    @Override
    public void writeKv(KvCache cache, int layer, Tensor k, Tensor v, AttentionMetadata meta) {
        CpuKvCache c = cache(cache, "writeKv");
        CpuTensor ks = act(k, "writeKv", "k");
        CpuTensor vs = act(v, "writeKv", "v");
        KvCacheSpec spec = c.spec();
        long width = (long) spec.numKvHeads() * spec.headDim();
        int[] slots = meta.slotMapping();
        if (ks.cols() != width || vs.cols() != width || ks.rows() != slots.length || vs.rows() != slots.length) {
            throw new IllegalArgumentException("writeKv: k " + Tensor.shapeString(ks.shape()) + " and v "
                    + Tensor.shapeString(vs.shape()) + " vs " + slots.length + " slots of " + spec.numKvHeads()
                    + " kv heads of " + spec.headDim());
        }
        for (int t = 0; t < slots.length; t++) {
            if (slots[t] < -1 || slots[t] >= c.slots()) {
                throw new IllegalArgumentException("writeKv: slot " + slots[t] + " of token " + t + " outside the "
                        + c.slots() + " slots of the cache");
            }
        }
        Attention.writeKv(c, layer, ks, vs, slots);
    }

    @Override
    public void attention(Tensor out, Tensor q, KvCache cache, int layer, AttentionMetadata meta, int numHeads,
                          float scale) {
        CpuKvCache c = cache(cache, "attention");
        CpuTensor o = act(out, "attention", "out");
        CpuTensor qs = act(q, "attention", "q");
        KvCacheSpec spec = c.spec();
        long width = (long) numHeads * spec.headDim();
        if (numHeads <= 0 || numHeads % spec.numKvHeads() != 0) {
            throw new IllegalArgumentException("attention: " + numHeads + " heads is not a multiple of "
                    + spec.numKvHeads() + " kv heads");
        }
        if (qs.cols() != width || qs.rows() != meta.numTokens()) {
            throw new IllegalArgumentException("attention: q " + Tensor.shapeString(qs.shape()) + " vs "
                    + meta.numTokens() + " tokens of " + numHeads + " heads of " + spec.headDim());
        }
        sameShape("attention", "out", o, "q", qs);
        if (meta.blockSize() != spec.blockSize()) {
            throw new IllegalArgumentException("attention: metadata block size " + meta.blockSize()
                    + " vs cache block size " + spec.blockSize());
        }
        for (int s = 0; s < meta.numSeqs(); s++) {
            int len = meta.seqLens()[s];
            if (meta.queryLen(s) < 0 || len < meta.queryLen(s)) {
                throw new IllegalArgumentException("attention: sequence " + s + " has " + meta.queryLen(s)
                        + " new tokens but seqLen " + len);
            }
            int[] table = meta.blockTables()[s];
            int blocks = (len + spec.blockSize() - 1) / spec.blockSize();
            if (table.length < blocks) {
                throw new IllegalArgumentException("attention: sequence " + s + " of " + len + " tokens needs "
                        + blocks + " blocks, its table has " + table.length);
            }
            for (int b = 0; b < blocks; b++) {
                if (table[b] < 0 || table[b] >= spec.numBlocks()) {
                    throw new IllegalArgumentException("attention: sequence " + s + " block " + b + " is "
                            + table[b] + ", outside the cache's " + spec.numBlocks() + " blocks");
                }
            }
        }
        Attention.run(pool, o, qs, c, layer, meta, numHeads, scale);
    }

    @Override
    public void gatherRows(Tensor out, Tensor x, Tensor rows) {
        CpuTensor o = cpu(out, "gatherRows", "out");
        CpuTensor xs = cpu(x, "gatherRows", "x");
        o.requireDense("gatherRows");
        xs.requireDense("gatherRows");
        int[] r = ints(rows, "gatherRows", "rows");
        if (o.rows() != r.length || o.cols() != xs.cols() || o.dtype() != xs.dtype()) {
            throw mismatch("gatherRows", "out", o, "x", xs, r.length + " rows");
        }
        for (int i = 0; i < r.length; i++) {
            if (r[i] < 0 || r[i] >= xs.rows()) {
                throw new IllegalArgumentException("gatherRows: row " + r[i] + " at " + i + " outside x "
                        + Tensor.shapeString(xs.shape()));
            }
        }
        Ops.gatherRows(o, xs, r);
    }

    @Override
    public void takePreviousIds(Tensor ids, Tensor previous, Tensor previousRows) {
        CpuTensor out = cpu(ids, "takePreviousIds", "ids");
        int[] prev = ints(previous, "takePreviousIds", "previous");
        int[] rows = ints(previousRows, "takePreviousIds", "previousRows");
        ints(out, "takePreviousIds", "ids"); // checks the dtype and density
        if (out.numel() != rows.length) {
            throw new IllegalArgumentException("takePreviousIds: " + out.numel() + " ids for " + rows.length
                    + " previous rows");
        }
        long cols = out.cols();
        for (int t = 0; t < rows.length; t++) {
            int r = rows[t];
            if (r < -1 || r >= prev.length) {
                throw new IllegalArgumentException("takePreviousIds: previous row " + r + " of token " + t
                        + " outside the " + prev.length + " previous ids");
            }
            if (r >= 0) {
                out.segment().set(ValueLayout.JAVA_INT_UNALIGNED, out.offset(t / cols, t % cols), prev[r]);
            }
        }
    }

    // ---- mixture of experts ---------------------------------------------------------------------

    @Override
    public void moeTopK(Tensor topIds, Tensor topWeights, Tensor routerLogits, int k, boolean renormalize) {
        CpuTensor ids = cpu(topIds, "moeTopK", "topIds");
        CpuTensor w = act(topWeights, "moeTopK", "topWeights");
        CpuTensor logits = act(routerLogits, "moeTopK", "routerLogits");
        if (ids.dtype() != DType.I32) {
            throw new IllegalArgumentException("moeTopK: topIds is " + ids.dtype() + ", must be I32");
        }
        ids.requireDense("moeTopK");
        if (k <= 0 || k > logits.cols()) {
            throw new IllegalArgumentException("moeTopK: k = " + k + " with " + logits.cols() + " experts");
        }
        if (ids.rows() != logits.rows() || ids.cols() != k || w.rows() != logits.rows() || w.cols() != k) {
            throw new IllegalArgumentException("moeTopK: topIds " + Tensor.shapeString(ids.shape()) + " and topWeights "
                    + Tensor.shapeString(w.shape()) + " vs routerLogits " + Tensor.shapeString(logits.shape())
                    + " and k = " + k);
        }
        int[] outIds = new int[Math.toIntExact(logits.rows() * k)];
        float[] outWeights = new float[outIds.length];
        CpuMoe.topK(outIds, outWeights, logits, k, renormalize);
        upload(ids, MemorySegment.ofArray(outIds));
        for (int t = 0; t < logits.rows(); t++) {
            MemorySegment.copy(outWeights, t * k, w.segment(), Vec.FLOAT, w.offset(t, 0), k);
        }
    }

    @Override
    public void moeExperts(Tensor out, Tensor x, Tensor gateUp, Tensor down, Tensor topIds, Tensor topWeights,
                           int numExperts) {
        CpuTensor o = act(out, "moeExperts", "out");
        CpuTensor xs = act(x, "moeExperts", "x");
        CpuTensor gu = cpu(gateUp, "moeExperts", "gateUp");
        CpuTensor dn = cpu(down, "moeExperts", "down");
        CpuTensor w = act(topWeights, "moeExperts", "topWeights");
        int[] ids = ints(topIds, "moeExperts", "topIds");
        sameShape("moeExperts", "out", o, "x", xs);
        if (!gu.dtype().isFloatWeight() || !dn.dtype().isFloatWeight()) {
            throw new IllegalArgumentException("moeExperts: gateUp " + gu.dtype() + " and down " + dn.dtype()
                    + " (supported: F32, BF16, F16)");
        }
        long h = xs.cols();
        if (numExperts <= 0 || gu.rows() % (2L * numExperts) != 0 || gu.cols() != h
                || dn.rows() != numExperts * h || 2L * numExperts * dn.cols() != gu.rows()) {
            throw new IllegalArgumentException("moeExperts: gateUp " + Tensor.shapeString(gu.shape()) + " and down "
                    + Tensor.shapeString(dn.shape()) + " are not " + numExperts + " experts' [2I, " + h + "] and ["
                    + h + ", I] stacked");
        }
        int k = (int) w.cols();
        if (w.rows() != xs.rows() || ids.length != w.rows() * k || topIds.cols() != k) {
            throw new IllegalArgumentException("moeExperts: topIds " + Tensor.shapeString(topIds.shape())
                    + " and topWeights " + Tensor.shapeString(w.shape()) + " vs x " + Tensor.shapeString(xs.shape()));
        }
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= numExperts) {
                throw new IllegalArgumentException("moeExperts: expert id " + ids[i] + " of token " + i / k
                        + " outside [0, " + numExperts + ")");
            }
        }
        moe.experts(this, pool, o, xs, gu, dn, ids, w.toFloatArray(), k, numExperts);
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        pool.close();
        for (CpuKvCache c : caches) {
            c.close();
        }
        caches.clear();
        arena.close();
    }

    // ---- checks ---------------------------------------------------------------------------------

    private static CpuTensor cpu(Tensor t, String op, String what) {
        if (t instanceof CpuTensor c) {
            return c;
        }
        throw new IllegalArgumentException(op + ": " + what + " is " + (t == null ? "null" : t.getClass().getName())
                + ", not a CPU tensor");
    }

    /** An f32 activation (dense or strided, not a concat). */
    private static CpuTensor act(Tensor t, String op, String what) {
        CpuTensor c = cpu(t, op, what);
        if (c.dtype() != DType.F32) {
            throw new IllegalArgumentException(op + ": " + what + " is " + c.dtype() + Tensor.shapeString(c.shape())
                    + ", activations must be F32");
        }
        c.requireDense(op);
        return c;
    }

    /** A tensor of any float dtype, not a concat. */
    private static CpuTensor floats(Tensor t, String op, String what) {
        CpuTensor c = cpu(t, op, what);
        if (!c.dtype().isFloatWeight()) {
            throw new IllegalArgumentException(op + ": " + what + " is " + c.dtype() + Tensor.shapeString(c.shape())
                    + " (supported: F32, BF16, F16)");
        }
        c.requireDense(op);
        return c;
    }

    /** The elements of an I32 index tensor (any shape; read once on the host). */
    private static int[] ints(Tensor t, String op, String what) {
        CpuTensor c = cpu(t, op, what);
        if (c.dtype() != DType.I32) {
            throw new IllegalArgumentException(op + ": " + what + " is " + c.dtype() + Tensor.shapeString(c.shape())
                    + ", must be I32");
        }
        c.requireDense(op);
        return c.toIntArray();
    }

    private static CpuKvCache cache(KvCache k, String op) {
        if (k instanceof CpuKvCache c) {
            return c;
        }
        throw new IllegalArgumentException(op + ": cache is " + (k == null ? "null" : k.getClass().getName())
                + ", not a CPU KV cache");
    }

    private static void sameShape(String op, String an, CpuTensor a, String bn, CpuTensor b) {
        if (a.rows() != b.rows() || a.cols() != b.cols()) {
            throw mismatch(op, an, a, bn, b, null);
        }
    }

    /** v must be a vector (any rank, cols() elements in all) of x's width. */
    private static void vectorOf(String op, String xn, CpuTensor x, String vn, CpuTensor v) {
        if (v.numel() != x.cols() || v.rows() != 1) {
            throw mismatch(op, xn, x, vn, v, null);
        }
    }

    private static IllegalArgumentException mismatch(String op, String an, Tensor a, String bn, Tensor b, String extra) {
        return new IllegalArgumentException(op + ": " + an + " " + Tensor.shapeString(a.shape()) + " vs " + bn + " "
                + Tensor.shapeString(b.shape()) + (extra == null ? "" : " and " + extra));
    }
}
