package dev.jlight.cpu;

import static dev.jlight.cpu.Vec.F;
import static dev.jlight.cpu.Vec.L;

import dev.jlight.core.backend.AttentionMetadata;
import dev.jlight.core.weights.DType;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Causal paged attention over a flat batch, and the K/V writes that precede it.
 *
 * <p>Work unit = (sequence, kv head, tile of up to {@code max(1, 16 / G)} consecutive query tokens
 * of that sequence), G = numHeads / numKvHeads. The unit's rows are its tokens × the G query heads
 * that share the kv head, so each K and V row read from the pool serves all of them. Keys are
 * visited in blocks of {@link #KB} positions with an online softmax in f32 (running max and sum,
 * accumulator rescaled when the max grows); a row stops at its own position (causal).
 *
 * <p>Per block: scores take four K rows at a time against each query row (held in a heap buffer);
 * then each row's output accumulator is updated with four vectors of it in registers while all
 * the block's V rows pass. BF16/F16 pools are read with the pair loads of the matmul kernels
 * (q and the accumulator live in the pair-permuted layout, undone at the end). Everything is
 * vectorized over headDim with a scalar tail, so any headDim works.
 */
final class Attention {
    /** Key positions per block of the online softmax. */
    static final int KB = 64;
    /** Rows (query tokens × heads of a group) per unit, at most. */
    static final int MAX_ROWS = 16;

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private Attention() {
    }

    private static final class Scratch {
        float[] scores = new float[0];
        float[] acc = new float[0];
        float[] q = new float[0];
        float[] max = new float[MAX_ROWS];
        float[] sum = new float[MAX_ROWS];
        int[] count = new int[MAX_ROWS];
        long[] kvOff = new long[KB];

        void ensure(int rows, int hd) {
            if (max.length < rows) {
                max = new float[rows];
                sum = new float[rows];
                count = new int[rows];
            }
            if (scores.length < rows * KB) {
                scores = new float[rows * KB];
            }
            if (acc.length < rows * hd) {
                acc = new float[rows * hd];
                q = new float[rows * hd];
            }
        }
    }

    // ---- writeKv --------------------------------------------------------------------------------

    static void writeKv(CpuKvCache cache, int layer, CpuTensor k, CpuTensor v, int[] slots) {
        int width = cache.spec().numKvHeads() * cache.spec().headDim();
        MemorySegment kp = cache.keys(layer);
        MemorySegment vp = cache.values(layer);
        DType dt = cache.dtype();
        for (int t = 0; t < slots.length; t++) {
            int slot = slots[t];
            if (slot < 0) {
                continue;
            }
            long dst = (long) slot * width;
            storeRow(k.segment(), t * k.rowStride(), kp, dst, width, dt);
            storeRow(v.segment(), t * v.rowStride(), vp, dst, width, dt);
        }
    }

    private static void storeRow(MemorySegment src, long srcIndex, MemorySegment dst, long dstIndex, int n, DType dt) {
        if (dt == DType.F32) {
            MemorySegment.copy(src, 4 * srcIndex, dst, 4 * dstIndex, 4L * n);
            return;
        }
        for (int i = 0; i < n; i++) {
            Vec.store(dt, dst, dstIndex + i, Vec.getF(src, srcIndex + i));
        }
    }

    // ---- attention ------------------------------------------------------------------------------

    static void run(WorkerPool pool, CpuTensor out, CpuTensor q, CpuKvCache cache, int layer, AttentionMetadata meta,
                    int numHeads, float scale) {
        int kvh = cache.spec().numKvHeads();
        int hd = cache.spec().headDim();
        int g = numHeads / kvh;
        int qt = Math.max(1, MAX_ROWS / g);
        int seqs = meta.numSeqs();
        // tiles (sequence, first query index within it)
        int tiles = 0;
        for (int s = 0; s < seqs; s++) {
            tiles += (meta.queryLen(s) + qt - 1) / qt;
        }
        int[] tileSeq = new int[tiles];
        int[] tileStart = new int[tiles];
        long work = 0;
        int n = 0;
        for (int s = 0; s < seqs; s++) {
            for (int i = 0; i < meta.queryLen(s); i += qt) {
                tileSeq[n] = s;
                tileStart[n++] = i;
            }
            work += (long) meta.queryLen(s) * meta.seqLens()[s];
        }
        work *= (long) numHeads * hd;
        Job job = new Job(out, q, cache.keys(layer), cache.values(layer), cache.dtype(), meta, kvh, hd, g, qt, scale);
        int units = tiles * kvh;
        pool.run(units, work < (1 << 15) ? units : 1, (from, to) -> {
            Scratch sc = SCRATCH.get();
            for (int u = from; u < to; u++) {
                int tile = u / kvh;
                job.unit(sc, tileSeq[tile], tileStart[tile], u % kvh);
            }
        });
    }

    /** The fixed inputs of one attention call. */
    private record Job(CpuTensor out, CpuTensor q, MemorySegment kPool, MemorySegment vPool, DType dt,
                       AttentionMetadata meta, int kvh, int hd, int g, int qt, float scale) {

        void unit(Scratch sc, int s, int i0, int kvHead) {
            int qLen = meta.queryLen(s);
            int nq = Math.min(qt, qLen - i0);
            int seqLen = meta.seqLens()[s];
            int firstPos = seqLen - qLen + i0; // position of the tile's first token
            int lastPos = firstPos + nq - 1;
            int rows = nq * g;
            int bs = meta.blockSize();
            int[] table = meta.blockTables()[s];
            int tok0 = meta.queryStart()[s] + i0;
            boolean pairs = dt != DType.F32;
            int eb = dt.bytes();
            sc.ensure(rows, hd);
            float[] scores = sc.scores;
            float[] acc = sc.acc;
            float[] qb = sc.q;
            float[] max = sc.max;
            float[] sum = sc.sum;
            int[] count = sc.count;
            long[] kvOff = sc.kvOff;
            Arrays.fill(acc, 0, rows * hd, 0f);
            Arrays.fill(max, 0, rows, Float.NEGATIVE_INFINITY);
            Arrays.fill(sum, 0, rows, 0f);
            // the unit's query rows, in the pair-permuted layout when K/V are 16-bit
            MemorySegment qs = q.segment();
            long qStride = q.rowStride();
            for (int r = 0; r < rows; r++) {
                long qo = (tok0 + r / g) * qStride + (long) (kvHead * g + r % g) * hd;
                MemorySegment.copy(qs, Vec.FLOAT, 4 * qo, qb, r * hd, hd);
                if (pairs) {
                    Matmul.permute(qb, r * hd, hd);
                }
            }
            for (int c0 = 0; c0 <= lastPos; c0 += KB) {
                int c1 = Math.min(c0 + KB, lastPos + 1);
                // byte offsets of the block's K/V rows (one division per key block, not per position)
                long rowBytes = (long) kvh * hd * eb;
                long headBytes = (long) kvHead * hd * eb;
                int blk = c0 / bs;
                int off = c0 - blk * bs;
                for (int p = c0; p < c1; p++) {
                    kvOff[p - c0] = ((long) table[blk] * bs + off) * rowBytes + headBytes;
                    if (++off == bs) {
                        off = 0;
                        blk++;
                    }
                }
                // scores: four K rows at a time against each of the unit's rows that sees them all
                int n = c1 - c0;
                int jq = 0;
                for (; jq + 4 <= n; jq += 4) {
                    long kb = (long) hd * eb;
                    MemorySegment k0 = kPool.asSlice(kvOff[jq], kb);
                    MemorySegment k1 = kPool.asSlice(kvOff[jq + 1], kb);
                    MemorySegment k2 = kPool.asSlice(kvOff[jq + 2], kb);
                    MemorySegment k3 = kPool.asSlice(kvOff[jq + 3], kb);
                    int p = c0 + jq;
                    for (int r = 0; r < rows; r++) {
                        int lastSeen = firstPos + r / g;
                        if (p + 3 <= lastSeen) {
                            dot4(dt, k0, k1, k2, k3, qb, r * hd, hd, scores, r * KB + jq, scale);
                        } else {
                            for (int jj = 0; jj < 4 && p + jj <= lastSeen; jj++) {
                                MemorySegment kr = jj == 0 ? k0 : jj == 1 ? k1 : jj == 2 ? k2 : k3;
                                scores[r * KB + jq + jj] = dot(dt, kr, qb, r * hd, hd) * scale;
                            }
                        }
                    }
                }
                for (; jq < n; jq++) {
                    MemorySegment kRow = kPool.asSlice(kvOff[jq], (long) hd * eb);
                    int p = c0 + jq;
                    for (int r = 0; r < rows; r++) {
                        if (p <= firstPos + r / g) {
                            scores[r * KB + jq] = dot(dt, kRow, qb, r * hd, hd) * scale;
                        }
                    }
                }
                // online softmax update per row
                for (int r = 0; r < rows; r++) {
                    int cnt = Math.min(c1, firstPos + r / g + 1) - c0;
                    count[r] = Math.max(0, cnt);
                    if (cnt <= 0) {
                        continue;
                    }
                    int so = r * KB;
                    float bm = Float.NEGATIVE_INFINITY;
                    for (int j = 0; j < cnt; j++) {
                        bm = Math.max(bm, scores[so + j]);
                    }
                    float m = max[r];
                    float nm = Math.max(m, bm);
                    float e = expInPlace(scores, so, cnt, nm);
                    if (m == Float.NEGATIVE_INFINITY) {
                        sum[r] = e;
                    } else {
                        float corr = (float) Math.exp(m - nm);
                        sum[r] = sum[r] * corr + e;
                        if (corr != 1f) {
                            scaleRow(acc, r * hd, hd, corr);
                        }
                    }
                    max[r] = nm;
                }
                // acc += p · V, per row with a slice of acc held in registers over the block's positions
                for (int r = 0; r < rows; r++) {
                    if (count[r] > 0) {
                        accumulateV(dt, acc, r * hd, hd, scores, r * KB, count[r], vPool, kvOff);
                    }
                }
            }
            MemorySegment os = out.segment();
            long oStride = out.rowStride();
            for (int r = 0; r < rows; r++) {
                long oo = (tok0 + r / g) * oStride + (long) (kvHead * g + r % g) * hd;
                int ao = r * hd;
                if (pairs) {
                    unpermute(acc, ao, hd);
                }
                float inv = 1f / sum[r];
                int d = 0;
                for (; d + L <= hd; d += L) {
                    FloatVector.fromArray(F, acc, ao + d).mul(inv).intoMemorySegment(os, 4 * (oo + d), Vec.LE);
                }
                for (; d < hd; d++) {
                    Vec.setF(os, oo + d, acc[ao + d] * inv);
                }
            }
        }
    }

    /** Inverse of {@link Matmul#permute} on a[off, off+n). */
    static void unpermute(float[] a, int off, int n) {
        int l = L;
        float[] t = new float[2 * l];
        for (int b = off; b + 2 * l <= off + n; b += 2 * l) {
            for (int j = 0; j < l; j++) {
                t[2 * j] = a[b + j];
                t[2 * j + 1] = a[b + l + j];
            }
            System.arraycopy(t, 0, a, b, 2 * l);
        }
    }

    /** scores[o..o+n) = exp(scores - m); returns their sum. */
    private static float expInPlace(float[] s, int o, int n, float m) {
        FloatVector vs = FloatVector.zero(F);
        int j = 0;
        for (; j + L <= n; j += L) {
            FloatVector e = FloatVector.fromArray(F, s, o + j).sub(m).lanewise(VectorOperators.EXP);
            e.intoArray(s, o + j);
            vs = vs.add(e);
        }
        float sum = vs.reduceLanes(VectorOperators.ADD);
        for (; j < n; j++) {
            float e = (float) Math.exp(s[o + j] - m);
            s[o + j] = e;
            sum += e;
        }
        return sum;
    }

    private static void scaleRow(float[] a, int o, int n, float c) {
        int d = 0;
        for (; d + L <= n; d += L) {
            FloatVector.fromArray(F, a, o + d).mul(c).intoArray(a, o + d);
        }
        for (; d < n; d++) {
            a[o + d] *= c;
        }
    }

    /** scores[so + i] = (k_i · q[qo, qo+hd)) * scale for four K rows: q loaded once, four chains. */
    private static void dot4(DType dt, MemorySegment k0, MemorySegment k1, MemorySegment k2, MemorySegment k3,
                             float[] q, int qo, int hd, float[] scores, int so, float scale) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        int d = 0;
        switch (dt) {
            case F32 -> {
                for (; d + L <= hd; d += L) {
                    FloatVector u = FloatVector.fromArray(F, q, qo + d);
                    long b = 4L * d;
                    a0 = u.fma(Vec.f32(k0, b), a0);
                    a1 = u.fma(Vec.f32(k1, b), a1);
                    a2 = u.fma(Vec.f32(k2, b), a2);
                    a3 = u.fma(Vec.f32(k3, b), a3);
                }
            }
            case BF16 -> {
                for (; d + 2 * L <= hd; d += 2 * L) {
                    FloatVector u = FloatVector.fromArray(F, q, qo + d);
                    FloatVector v = FloatVector.fromArray(F, q, qo + d + L);
                    long b = 2L * d;
                    IntVector p = Vec.ints(k0, b);
                    a0 = v.fma(Vec.bf16Odd(p), u.fma(Vec.bf16Even(p), a0));
                    p = Vec.ints(k1, b);
                    a1 = v.fma(Vec.bf16Odd(p), u.fma(Vec.bf16Even(p), a1));
                    p = Vec.ints(k2, b);
                    a2 = v.fma(Vec.bf16Odd(p), u.fma(Vec.bf16Even(p), a2));
                    p = Vec.ints(k3, b);
                    a3 = v.fma(Vec.bf16Odd(p), u.fma(Vec.bf16Even(p), a3));
                }
            }
            default -> {
                // F16: eight widenings in one loop exceed C2's inlining budget (see MatmulKernels)
                scores[so] = dot(dt, k0, q, qo, hd) * scale;
                scores[so + 1] = dot(dt, k1, q, qo, hd) * scale;
                scores[so + 2] = dot(dt, k2, q, qo, hd) * scale;
                scores[so + 3] = dot(dt, k3, q, qo, hd) * scale;
                return;
            }
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD);
        float s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD);
        float s3 = a3.reduceLanes(VectorOperators.ADD);
        for (; d < hd; d++) {
            float qd = q[qo + d];
            s0 += qd * Vec.load(dt, k0, d);
            s1 += qd * Vec.load(dt, k1, d);
            s2 += qd * Vec.load(dt, k2, d);
            s3 += qd * Vec.load(dt, k3, d);
        }
        scores[so] = s0 * scale;
        scores[so + 1] = s1 * scale;
        scores[so + 2] = s2 * scale;
        scores[so + 3] = s3 * scale;
    }

    /** k row (pool dtype, from byte 0) · q[qo, qo+hd) (q pair-permuted for 16-bit pools). */
    private static float dot(DType dt, MemorySegment k, float[] q, int qo, int hd) {
        FloatVector a = FloatVector.zero(F);
        FloatVector b = FloatVector.zero(F);
        int d = 0;
        switch (dt) {
            case F32 -> {
                for (; d + L <= hd; d += L) {
                    a = FloatVector.fromArray(F, q, qo + d).fma(Vec.f32(k, 4L * d), a);
                }
            }
            case BF16 -> {
                for (; d + 2 * L <= hd; d += 2 * L) {
                    IntVector p = Vec.ints(k, 2L * d);
                    a = FloatVector.fromArray(F, q, qo + d).fma(Vec.bf16Even(p), a);
                    b = FloatVector.fromArray(F, q, qo + d + L).fma(Vec.bf16Odd(p), b);
                }
            }
            default -> {
                for (; d + 2 * L <= hd; d += 2 * L) {
                    IntVector p = Vec.ints(k, 2L * d);
                    a = FloatVector.fromArray(F, q, qo + d).fma(Vec.f16Even(p), a);
                    b = FloatVector.fromArray(F, q, qo + d + L).fma(Vec.f16Odd(p), b);
                }
            }
        }
        float s = a.add(b).reduceLanes(VectorOperators.ADD);
        for (; d < hd; d++) {
            s += q[qo + d] * Vec.load(dt, k, d);
        }
        return s;
    }

    /**
     * acc[ao, ao+hd) += Σ_j p[po+j] · V row j (byte offset vOff[j] in the pool) for j < n; acc is
     * pair-permuted for 16-bit pools. Four vectors of acc stay in registers while all n rows pass.
     */
    private static void accumulateV(DType dt, float[] acc, int ao, int hd, float[] p, int po, int n, MemorySegment v,
                                    long[] vOff) {
        int d = 0;
        switch (dt) {
            case F32 -> {
                for (; d + 4 * L <= hd; d += 4 * L) {
                    FloatVector a0 = FloatVector.fromArray(F, acc, ao + d);
                    FloatVector a1 = FloatVector.fromArray(F, acc, ao + d + L);
                    FloatVector a2 = FloatVector.fromArray(F, acc, ao + d + 2 * L);
                    FloatVector a3 = FloatVector.fromArray(F, acc, ao + d + 3 * L);
                    for (int j = 0; j < n; j++) {
                        FloatVector w = FloatVector.broadcast(F, p[po + j]);
                        long b = vOff[j] + 4L * d;
                        a0 = Vec.f32(v, b).fma(w, a0);
                        a1 = Vec.f32(v, b + 4L * L).fma(w, a1);
                        a2 = Vec.f32(v, b + 8L * L).fma(w, a2);
                        a3 = Vec.f32(v, b + 12L * L).fma(w, a3);
                    }
                    a0.intoArray(acc, ao + d);
                    a1.intoArray(acc, ao + d + L);
                    a2.intoArray(acc, ao + d + 2 * L);
                    a3.intoArray(acc, ao + d + 3 * L);
                }
                for (; d + L <= hd; d += L) {
                    FloatVector a0 = FloatVector.fromArray(F, acc, ao + d);
                    for (int j = 0; j < n; j++) {
                        a0 = Vec.f32(v, vOff[j] + 4L * d).fma(FloatVector.broadcast(F, p[po + j]), a0);
                    }
                    a0.intoArray(acc, ao + d);
                }
            }
            case BF16 -> {
                for (; d + 4 * L <= hd; d += 4 * L) {
                    FloatVector a0 = FloatVector.fromArray(F, acc, ao + d);
                    FloatVector a1 = FloatVector.fromArray(F, acc, ao + d + L);
                    FloatVector a2 = FloatVector.fromArray(F, acc, ao + d + 2 * L);
                    FloatVector a3 = FloatVector.fromArray(F, acc, ao + d + 3 * L);
                    for (int j = 0; j < n; j++) {
                        FloatVector w = FloatVector.broadcast(F, p[po + j]);
                        long b = vOff[j] + 2L * d;
                        IntVector x = Vec.ints(v, b);
                        a0 = Vec.bf16Even(x).fma(w, a0);
                        a1 = Vec.bf16Odd(x).fma(w, a1);
                        x = Vec.ints(v, b + 4L * L);
                        a2 = Vec.bf16Even(x).fma(w, a2);
                        a3 = Vec.bf16Odd(x).fma(w, a3);
                    }
                    a0.intoArray(acc, ao + d);
                    a1.intoArray(acc, ao + d + L);
                    a2.intoArray(acc, ao + d + 2 * L);
                    a3.intoArray(acc, ao + d + 3 * L);
                }
                for (; d + 2 * L <= hd; d += 2 * L) {
                    FloatVector a0 = FloatVector.fromArray(F, acc, ao + d);
                    FloatVector a1 = FloatVector.fromArray(F, acc, ao + d + L);
                    for (int j = 0; j < n; j++) {
                        FloatVector w = FloatVector.broadcast(F, p[po + j]);
                        IntVector x = Vec.ints(v, vOff[j] + 2L * d);
                        a0 = Vec.bf16Even(x).fma(w, a0);
                        a1 = Vec.bf16Odd(x).fma(w, a1);
                    }
                    a0.intoArray(acc, ao + d);
                    a1.intoArray(acc, ao + d + L);
                }
            }
            default -> {
                for (; d + 2 * L <= hd; d += 2 * L) {
                    FloatVector a0 = FloatVector.fromArray(F, acc, ao + d);
                    FloatVector a1 = FloatVector.fromArray(F, acc, ao + d + L);
                    for (int j = 0; j < n; j++) {
                        FloatVector w = FloatVector.broadcast(F, p[po + j]);
                        IntVector x = Vec.ints(v, vOff[j] + 2L * d);
                        a0 = Vec.f16Even(x).fma(w, a0);
                        a1 = Vec.f16Odd(x).fma(w, a1);
                    }
                    a0.intoArray(acc, ao + d);
                    a1.intoArray(acc, ao + d + L);
                }
            }
        }
        int eb = dt.bytes();
        for (; d < hd; d++) {
            float s = acc[ao + d];
            for (int j = 0; j < n; j++) {
                s += p[po + j] * Vec.load(dt, v, vOff[j] / eb + d);
            }
            acc[ao + d] = s;
        }
    }
}
