package dev.jlight.cpu;

import static dev.jlight.cpu.Vec.F;
import static dev.jlight.cpu.Vec.L;

import dev.jlight.core.backend.AttentionMetadata;
import dev.jlight.core.weights.DType;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Causal paged attention over a flat batch, and the K/V writes that precede it.
 *
 * <p>Work unit = (sequence, kv head, tile of up to {@code 16 / G} consecutive query tokens of
 * that sequence), G = numHeads / numKvHeads. The unit's rows are its tokens × the G query heads
 * that share the kv head, so each K and V row read from the pool (widened from BF16/F16 if so
 * stored) serves all of them. Keys are visited in blocks of {@link #KB} positions with an online
 * softmax in f32 (running max and sum, accumulator rescaled when the max grows); a row stops at
 * its own position (causal). Dot products and the V accumulation are vectorized over headDim with
 * a scalar tail, so any headDim works.
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
        float[] max = new float[MAX_ROWS];
        float[] sum = new float[MAX_ROWS];
        int[] count = new int[MAX_ROWS];
        long[] kvOff = new long[KB];

        void ensure(int rows, int hd) {
            if (scores.length < rows * KB) {
                scores = new float[rows * KB];
            }
            if (acc.length < rows * hd) {
                acc = new float[rows * hd];
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
            sc.ensure(rows, hd);
            float[] scores = sc.scores;
            float[] acc = sc.acc;
            float[] max = sc.max;
            float[] sum = sc.sum;
            int[] count = sc.count;
            long[] kvOff = sc.kvOff;
            Arrays.fill(acc, 0, rows * hd, 0f);
            Arrays.fill(max, 0, rows, Float.NEGATIVE_INFINITY);
            Arrays.fill(sum, 0, rows, 0f);
            MemorySegment qs = q.segment();
            long qStride = q.rowStride();
            for (int c0 = 0; c0 <= lastPos; c0 += KB) {
                int c1 = Math.min(c0 + KB, lastPos + 1);
                for (int p = c0; p < c1; p++) {
                    long slot = (long) table[p / bs] * bs + p % bs;
                    kvOff[p - c0] = (slot * kvh + kvHead) * hd;
                }
                for (int r = 0; r < rows; r++) {
                    int i = r / g;
                    int lim = Math.min(c1, firstPos + i + 1);
                    if (lim <= c0) {
                        count[r] = 0;
                        continue;
                    }
                    int cnt = lim - c0;
                    count[r] = cnt;
                    long qo = (tok0 + i) * qStride + (long) (kvHead * g + r % g) * hd;
                    int so = r * KB;
                    float bm = Float.NEGATIVE_INFINITY;
                    for (int j = 0; j < cnt; j++) {
                        float d = dot(dt, qs, qo, kPool, kvOff[j], hd) * scale;
                        scores[so + j] = d;
                        bm = Math.max(bm, d);
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
                for (int j = 0; j < c1 - c0; j++) {
                    long vo = kvOff[j];
                    for (int r = 0; r < rows; r++) {
                        if (j < count[r]) {
                            axpy(dt, acc, r * hd, scores[r * KB + j], vPool, vo, hd);
                        }
                    }
                }
            }
            MemorySegment os = out.segment();
            long oStride = out.rowStride();
            for (int r = 0; r < rows; r++) {
                long oo = (tok0 + r / g) * oStride + (long) (kvHead * g + r % g) * hd;
                float inv = 1f / sum[r];
                int ao = r * hd;
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

    /** q (f32, element index qo) · k (pool dtype, element index ko) over hd elements. */
    private static float dot(DType dt, MemorySegment q, long qo, MemorySegment k, long ko, int hd) {
        return switch (dt) {
            case F32 -> dotF32(q, qo, k, ko, hd);
            case BF16 -> dotBf16(q, qo, k, ko, hd);
            default -> dotF16(q, qo, k, ko, hd);
        };
    }

    private static float dotF32(MemorySegment q, long qo, MemorySegment k, long ko, int hd) {
        FloatVector a = FloatVector.zero(F);
        int d = 0;
        for (; d + L <= hd; d += L) {
            a = Vec.f32(q, 4 * (qo + d)).fma(Vec.f32(k, 4 * (ko + d)), a);
        }
        float s = a.reduceLanes(VectorOperators.ADD);
        for (; d < hd; d++) {
            s += Vec.getF(q, qo + d) * Vec.getF(k, ko + d);
        }
        return s;
    }

    private static float dotBf16(MemorySegment q, long qo, MemorySegment k, long ko, int hd) {
        FloatVector a = FloatVector.zero(F);
        int d = 0;
        for (; d + L <= hd; d += L) {
            a = Vec.f32(q, 4 * (qo + d)).fma(Vec.bf16(k, 2 * (ko + d)), a);
        }
        float s = a.reduceLanes(VectorOperators.ADD);
        for (; d < hd; d++) {
            s += Vec.getF(q, qo + d) * Vec.load(DType.BF16, k, ko + d);
        }
        return s;
    }

    private static float dotF16(MemorySegment q, long qo, MemorySegment k, long ko, int hd) {
        FloatVector a = FloatVector.zero(F);
        int d = 0;
        for (; d + L <= hd; d += L) {
            a = Vec.f32(q, 4 * (qo + d)).fma(Vec.f16(k, 2 * (ko + d)), a);
        }
        float s = a.reduceLanes(VectorOperators.ADD);
        for (; d < hd; d++) {
            s += Vec.getF(q, qo + d) * Vec.load(DType.F16, k, ko + d);
        }
        return s;
    }

    /** acc[ao..ao+hd) += p * v (pool dtype, element index vo). */
    private static void axpy(DType dt, float[] acc, int ao, float p, MemorySegment v, long vo, int hd) {
        int d = 0;
        FloatVector pv = FloatVector.broadcast(F, p);
        switch (dt) {
            case F32 -> {
                for (; d + L <= hd; d += L) {
                    Vec.f32(v, 4 * (vo + d)).fma(pv, FloatVector.fromArray(F, acc, ao + d)).intoArray(acc, ao + d);
                }
            }
            case BF16 -> {
                for (; d + L <= hd; d += L) {
                    Vec.bf16(v, 2 * (vo + d)).fma(pv, FloatVector.fromArray(F, acc, ao + d)).intoArray(acc, ao + d);
                }
            }
            default -> {
                for (; d + L <= hd; d += L) {
                    Vec.f16(v, 2 * (vo + d)).fma(pv, FloatVector.fromArray(F, acc, ao + d)).intoArray(acc, ao + d);
                }
            }
        }
        for (; d < hd; d++) {
            acc[ao + d] += p * Vec.load(dt, v, vo + d);
        }
    }
}
