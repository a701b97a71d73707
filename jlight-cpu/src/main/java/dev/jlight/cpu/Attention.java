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
 * <p>Per block, the block's K and V rows are first widened once into f32 scratch arrays (so the
 * G heads of the group do not each widen them again, and the inner loops read heap arrays whose
 * bounds checks C2 hoists; reading the pool directly per row measured ~1.4x slower). Scores then
 * take two query rows × four keys per step (eight accumulators), and the output accumulators of
 * two rows are updated with their vectors in registers while the block's V rows pass. 16-bit
 * pools are widened with the matmul kernels' pair loads (BF16) or the scalar F16C conversion
 * (F16: the vector one, inlined here, exceeds C2's inlining budget and boxes; prefer BF16 or
 * F32 KV on the CPU), so q and the accumulators live in the pair-permuted layout, undone at the
 * end. Everything is vectorized over headDim with a scalar tail, so any headDim works.
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
        float[] kBlock = new float[0];
        float[] vBlock = new float[0];
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
            if (kBlock.length < KB * hd) {
                kBlock = new float[KB * hd];
                vBlock = new float[KB * hd];
            }
        }
    }

    // ---- writeKv --------------------------------------------------------------------------------

    static void writeKv(CpuKvCache cache, int layer, CpuTensor k, CpuTensor v, int[] slots) {
        int kvh = cache.spec().numKvHeads();
        int hd = cache.spec().headDim();
        MemorySegment kp = cache.keys(layer);
        MemorySegment vp = cache.values(layer);
        DType dt = cache.dtype();
        for (int t = 0; t < slots.length; t++) {
            int slot = slots[t];
            if (slot < 0) {
                continue;
            }
            for (int h = 0; h < kvh; h++) {
                long dst = cache.index(slot, h, 0);
                storeRow(k.segment(), t * k.rowStride() + (long) h * hd, kp, dst, hd, dt);
                storeRow(v.segment(), t * v.rowStride() + (long) h * hd, vp, dst, hd, dt);
            }
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
                // byte offsets of the block's K/V rows in the [block, kvHead, slot, d] pools (one
                // division per key block, not per position)
                long rowBytes = (long) hd * eb;
                int blk = c0 / bs;
                int off = c0 - blk * bs;
                for (int p = c0; p < c1; p++) {
                    kvOff[p - c0] = (((long) table[blk] * kvh + kvHead) * bs + off) * rowBytes;
                    if (++off == bs) {
                        off = 0;
                        blk++;
                    }
                }
                // the block's K and V rows widened once into f32 scratch (pair-permuted for 16-bit
                // pools), then every row of the unit reads them from L1
                int n = c1 - c0;
                float[] kb = sc.kBlock;
                float[] vb = sc.vBlock;
                stage(dt, kPool, kvOff, n, hd, kb);
                stage(dt, vPool, kvOff, n, hd, vb);
                // scores: four K rows at a time against each of the unit's rows that sees them all
                int rr = 0;
                for (; rr + 2 <= rows; rr += 2) {
                    int r = rr;
                    // two rows at a time over the keys both see, then each row's own rest
                    int seen0 = Math.min(n, firstPos + r / g + 1 - c0);
                    int seen1 = Math.min(n, firstPos + (r + 1) / g + 1 - c0);
                    int j = 0;
                    for (; j + 4 <= seen0; j += 4) {
                        dot2x4(kb, j * hd, qb, r * hd, hd, scores, r * KB + j, scale);
                    }
                    keysOfRow(kb, qb, r, hd, j, seen0, scores, scale);
                    keysOfRow(kb, qb, r + 1, hd, j, seen1, scores, scale);
                }
                for (; rr < rows; rr++) {
                    keysOfRow(kb, qb, rr, hd, 0, Math.min(n, firstPos + rr / g + 1 - c0), scores, scale);
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
                    if (r + 1 < rows && count[r] > 0 && count[r + 1] == count[r]) {
                        accumulateV2(acc, r * hd, hd, scores, r * KB, count[r], vb);
                        r++;
                    } else if (count[r] > 0) {
                        accumulateV(acc, r * hd, hd, scores, r * KB, count[r], vb);
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

    /**
     * dst[j*hd, (j+1)*hd) = K or V row j of the block (byte offset off[j] in the pool) as f32, for
     * j < n; 16-bit rows come out pair-permuted (the even elements of each 2L block, then the odd).
     */
    private static void stage(DType dt, MemorySegment pool, long[] off, int n, int hd, float[] dst) {
        switch (dt) {
            case F32 -> {
                for (int j = 0; j < n; j++) {
                    MemorySegment.copy(pool, Vec.FLOAT, off[j], dst, j * hd, hd);
                }
            }
            case BF16 -> stageBf16(pool, off, n, hd, dst);
            default -> stageF16(pool, off, n, hd, dst);
        }
    }

    private static void stageBf16(MemorySegment pool, long[] off, int n, int hd, float[] dst) {
        for (int j = 0; j < n; j++) {
            long o = off[j];
            int b = j * hd;
            int d = 0;
            for (; d + 2 * L <= hd; d += 2 * L) {
                IntVector p = Vec.ints(pool, o + 2L * d);
                Vec.bf16Even(p).intoArray(dst, b + d);
                Vec.bf16Odd(p).intoArray(dst, b + d + L);
            }
            for (; d < hd; d++) {
                dst[b + d] = Vec.load(DType.BF16, pool, o / 2 + d);
            }
        }
    }

    /**
     * F16 rows widened with the scalar {@code Float.float16ToFloat} (an F16C instruction), written
     * in the pair-permuted layout. The vector widening of the matmul kernels cannot be used here:
     * inlined into the attention unit it exceeds C2's inlining node budget and every vector is
     * boxed (measured 3x slower than this).
     */
    private static void stageF16(MemorySegment pool, long[] off, int n, int hd, float[] dst) {
        int full = hd / (2 * L) * (2 * L);
        for (int j = 0; j < n; j++) {
            long o = off[j];
            int b = j * hd;
            for (int blk = 0; blk < full; blk += 2 * L) {
                for (int i = 0; i < L; i++) {
                    dst[b + blk + i] = Float.float16ToFloat(pool.get(Vec.SHORT, o + 2L * (blk + 2 * i)));
                    dst[b + blk + L + i] = Float.float16ToFloat(pool.get(Vec.SHORT, o + 2L * (blk + 2 * i + 1)));
                }
            }
            for (int d = full; d < hd; d++) {
                dst[b + d] = Float.float16ToFloat(pool.get(Vec.SHORT, o + 2L * d));
            }
        }
    }

    /** Scores of query row r against staged keys [from, to), four at a time. */
    private static void keysOfRow(float[] kb, float[] q, int r, int hd, int from, int to, float[] scores, float scale) {
        int j = from;
        for (; j + 4 <= to; j += 4) {
            dot4(kb, j * hd, q, r * hd, hd, scores, r * KB + j, scale);
        }
        for (; j < to; j++) {
            scores[r * KB + j] = dot(kb, j * hd, q, r * hd, hd) * scale;
        }
    }

    /**
     * Scores of query rows r and r+1 (at qo and qo+hd) against four staged keys: eight chains,
     * each key vector loaded once for both rows.
     */
    private static void dot2x4(float[] k, int ko, float[] q, int qo, int hd, float[] scores, int so, float scale) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        FloatVector b0 = FloatVector.zero(F), b1 = FloatVector.zero(F);
        FloatVector b2 = FloatVector.zero(F), b3 = FloatVector.zero(F);
        int k1 = ko + hd, k2 = k1 + hd, k3 = k2 + hd, q1 = qo + hd;
        int d = 0;
        for (; d + L <= hd; d += L) {
            FloatVector u = FloatVector.fromArray(F, q, qo + d);
            FloatVector t = FloatVector.fromArray(F, q, q1 + d);
            FloatVector v = FloatVector.fromArray(F, k, ko + d);
            a0 = u.fma(v, a0);
            b0 = t.fma(v, b0);
            v = FloatVector.fromArray(F, k, k1 + d);
            a1 = u.fma(v, a1);
            b1 = t.fma(v, b1);
            v = FloatVector.fromArray(F, k, k2 + d);
            a2 = u.fma(v, a2);
            b2 = t.fma(v, b2);
            v = FloatVector.fromArray(F, k, k3 + d);
            a3 = u.fma(v, a3);
            b3 = t.fma(v, b3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD);
        float s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD);
        float s3 = a3.reduceLanes(VectorOperators.ADD);
        float r0 = b0.reduceLanes(VectorOperators.ADD);
        float r1 = b1.reduceLanes(VectorOperators.ADD);
        float r2 = b2.reduceLanes(VectorOperators.ADD);
        float r3 = b3.reduceLanes(VectorOperators.ADD);
        for (; d < hd; d++) {
            float qa = q[qo + d];
            float qb = q[q1 + d];
            s0 += qa * k[ko + d];
            s1 += qa * k[k1 + d];
            s2 += qa * k[k2 + d];
            s3 += qa * k[k3 + d];
            r0 += qb * k[ko + d];
            r1 += qb * k[k1 + d];
            r2 += qb * k[k2 + d];
            r3 += qb * k[k3 + d];
        }
        scores[so] = s0 * scale;
        scores[so + 1] = s1 * scale;
        scores[so + 2] = s2 * scale;
        scores[so + 3] = s3 * scale;
        scores[so + KB] = r0 * scale;
        scores[so + KB + 1] = r1 * scale;
        scores[so + KB + 2] = r2 * scale;
        scores[so + KB + 3] = r3 * scale;
    }

    /**
     * accumulateV for rows r and r+1 (acc at ao and ao+hd, weights at po and po+KB) over the same
     * n staged V rows: each V vector loaded once for both.
     */
    private static void accumulateV2(float[] acc, int ao, int hd, float[] p, int po, int n, float[] v) {
        int ao1 = ao + hd;
        int po1 = po + KB;
        int d = 0;
        for (; d + 2 * L <= hd; d += 2 * L) {
            FloatVector a0 = FloatVector.fromArray(F, acc, ao + d);
            FloatVector a1 = FloatVector.fromArray(F, acc, ao + d + L);
            FloatVector b0 = FloatVector.fromArray(F, acc, ao1 + d);
            FloatVector b1 = FloatVector.fromArray(F, acc, ao1 + d + L);
            for (int j = 0; j < n; j++) {
                FloatVector w = FloatVector.broadcast(F, p[po + j]);
                FloatVector x = FloatVector.broadcast(F, p[po1 + j]);
                int b = j * hd + d;
                FloatVector v0 = FloatVector.fromArray(F, v, b);
                FloatVector v1 = FloatVector.fromArray(F, v, b + L);
                a0 = v0.fma(w, a0);
                a1 = v1.fma(w, a1);
                b0 = v0.fma(x, b0);
                b1 = v1.fma(x, b1);
            }
            a0.intoArray(acc, ao + d);
            a1.intoArray(acc, ao + d + L);
            b0.intoArray(acc, ao1 + d);
            b1.intoArray(acc, ao1 + d + L);
        }
        if (d < hd) {
            // the rest of headDim one row at a time
            accumulateVFrom(acc, ao, d, hd, p, po, n, v);
            accumulateVFrom(acc, ao1, d, hd, p, po1, n, v);
        }
    }

    /** scores[so + i] = (k[ko + i*hd, +hd) · q[qo, +hd)) * scale for i < 4: q loaded once, four chains. */
    private static void dot4(float[] k, int ko, float[] q, int qo, int hd, float[] scores, int so, float scale) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        int k1 = ko + hd, k2 = k1 + hd, k3 = k2 + hd;
        int d = 0;
        for (; d + L <= hd; d += L) {
            FloatVector u = FloatVector.fromArray(F, q, qo + d);
            a0 = u.fma(FloatVector.fromArray(F, k, ko + d), a0);
            a1 = u.fma(FloatVector.fromArray(F, k, k1 + d), a1);
            a2 = u.fma(FloatVector.fromArray(F, k, k2 + d), a2);
            a3 = u.fma(FloatVector.fromArray(F, k, k3 + d), a3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD);
        float s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD);
        float s3 = a3.reduceLanes(VectorOperators.ADD);
        for (; d < hd; d++) {
            float qd = q[qo + d];
            s0 += qd * k[ko + d];
            s1 += qd * k[k1 + d];
            s2 += qd * k[k2 + d];
            s3 += qd * k[k3 + d];
        }
        scores[so] = s0 * scale;
        scores[so + 1] = s1 * scale;
        scores[so + 2] = s2 * scale;
        scores[so + 3] = s3 * scale;
    }

    /** k[ko, ko+hd) · q[qo, qo+hd). */
    private static float dot(float[] k, int ko, float[] q, int qo, int hd) {
        FloatVector a = FloatVector.zero(F);
        int d = 0;
        for (; d + L <= hd; d += L) {
            a = FloatVector.fromArray(F, q, qo + d).fma(FloatVector.fromArray(F, k, ko + d), a);
        }
        float s = a.reduceLanes(VectorOperators.ADD);
        for (; d < hd; d++) {
            s += q[qo + d] * k[ko + d];
        }
        return s;
    }

    /**
     * acc[ao, ao+hd) += Σ_j p[po+j] · v[j*hd, (j+1)*hd) for j < n. Four vectors of acc stay in
     * registers while all n rows pass.
     */
    private static void accumulateV(float[] acc, int ao, int hd, float[] p, int po, int n, float[] v) {
        accumulateVFrom(acc, ao, 0, hd, p, po, n, v);
    }

    /** accumulateV over headDim elements [d0, hd). */
    private static void accumulateVFrom(float[] acc, int ao, int d0, int hd, float[] p, int po, int n, float[] v) {
        int d = d0;
        for (; d + 4 * L <= hd; d += 4 * L) {
            FloatVector a0 = FloatVector.fromArray(F, acc, ao + d);
            FloatVector a1 = FloatVector.fromArray(F, acc, ao + d + L);
            FloatVector a2 = FloatVector.fromArray(F, acc, ao + d + 2 * L);
            FloatVector a3 = FloatVector.fromArray(F, acc, ao + d + 3 * L);
            for (int j = 0; j < n; j++) {
                FloatVector w = FloatVector.broadcast(F, p[po + j]);
                int b = j * hd + d;
                a0 = FloatVector.fromArray(F, v, b).fma(w, a0);
                a1 = FloatVector.fromArray(F, v, b + L).fma(w, a1);
                a2 = FloatVector.fromArray(F, v, b + 2 * L).fma(w, a2);
                a3 = FloatVector.fromArray(F, v, b + 3 * L).fma(w, a3);
            }
            a0.intoArray(acc, ao + d);
            a1.intoArray(acc, ao + d + L);
            a2.intoArray(acc, ao + d + 2 * L);
            a3.intoArray(acc, ao + d + 3 * L);
        }
        for (; d + L <= hd; d += L) {
            FloatVector a0 = FloatVector.fromArray(F, acc, ao + d);
            for (int j = 0; j < n; j++) {
                a0 = FloatVector.fromArray(F, v, j * hd + d).fma(FloatVector.broadcast(F, p[po + j]), a0);
            }
            a0.intoArray(acc, ao + d);
        }
        for (; d < hd; d++) {
            float s = acc[ao + d];
            for (int j = 0; j < n; j++) {
                s += p[po + j] * v[j * hd + d];
            }
            acc[ao + d] = s;
        }
    }
}
