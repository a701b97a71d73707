package dev.jlight.cpu;

import static dev.jlight.cpu.Vec.L;

import dev.jlight.core.weights.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Mixture-of-experts on the CPU: the router's top-k ({@link #topK}) and the routed experts' SwiGLU
 * MLPs run as grouped GEMMs ({@link #experts}).
 *
 * <p>Experts: the T*k (token, expert) assignments are grouped by expert with a counting sort
 * (stable, so each group keeps token order), the tokens' rows are gathered into one contiguous
 * buffer in that order, and each expert with tokens runs one batched {@link Matmul} over its group
 * for gate/up and one for down, its weights read in place (bf16 stays mapped). silu*mul runs once
 * over all groups. Each token then sums its k expert outputs, weighted, in router order — a
 * gather per token rather than a scatter, so threads never write the same row.
 *
 * <p>Scratch (T*k rows of gathered x, 2I gate/up, I act, H out) is one native buffer kept between
 * calls and grown when a bigger step comes; calls are not concurrent (the backend is used by one
 * engine thread).
 */
final class CpuMoe {
    private final Matmul matmul;
    private MemorySegment scratch = MemorySegment.NULL;

    CpuMoe(Matmul matmul) {
        this.matmul = matmul;
    }

    /**
     * Per row of logits [T,E]: softmax in f32, the k largest probabilities in descending order
     * (ties: lower expert id first, as torch.topk), renormalised over the k when asked.
     */
    static void topK(int[] ids, float[] weights, CpuTensor logits, int k, boolean renormalize) {
        int t = (int) logits.rows();
        int e = (int) logits.cols();
        float[] p = new float[e];
        for (int row = 0; row < t; row++) {
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < e; i++) {
                p[i] = logits.getFloat(row, i);
                max = Math.max(max, p[i]);
            }
            float sum = 0;
            for (int i = 0; i < e; i++) {
                p[i] = (float) Math.exp(p[i] - max);
                sum += p[i];
            }
            float picked = 0;
            for (int j = 0; j < k; j++) {
                int best = -1;
                for (int i = 0; i < e; i++) {
                    if (p[i] >= 0 && (best < 0 || p[i] > p[best])) {
                        best = i;
                    }
                }
                if (best < 0) {
                    throw new IllegalArgumentException("moeTopK: router logits of token " + row + " are not finite");
                }
                float w = p[best] / sum;
                ids[row * k + j] = best;
                weights[row * k + j] = w;
                picked += w;
                p[best] = -1; // taken (probabilities are >= 0)
            }
            if (renormalize) {
                for (int j = 0; j < k; j++) {
                    weights[row * k + j] /= picked;
                }
            }
        }
    }

    /**
     * out [T,H] = sum_j w[t,j] * expert_{ids[t,j]}(x[t]). gateUp [E*2I,H], down [E*H,I] (any
     * float dtype, concatenated or dense); ids/weights [T*k] row-major, ids range-checked.
     */
    void experts(CpuBackend backend, WorkerPool pool, CpuTensor out, CpuTensor x, CpuTensor gateUp, CpuTensor down,
                 int[] ids, float[] weights, int k, int numExperts) {
        int t = (int) x.rows();
        int h = (int) x.cols();
        int inter = (int) down.cols();
        int n = t * k;
        if (t == 0) {
            return;
        }
        // counting sort of the assignments by expert: start[e] .. start[e+1] are expert e's rows
        int[] start = new int[numExperts + 1];
        for (int id : ids) {
            start[id + 1]++;
        }
        for (int e = 0; e < numExperts; e++) {
            start[e + 1] += start[e];
        }
        int[] next = start.clone();
        int[] tokenOf = new int[n];  // grouped row -> token
        int[] rowOf = new int[n];    // assignment (t*k + j) -> grouped row
        for (int a = 0; a < n; a++) {
            int r = next[ids[a]]++;
            tokenOf[r] = a / k;
            rowOf[a] = r;
        }
        long floats = (long) n * (h + 2L * inter + inter + h);
        MemorySegment buf = scratch(floats * 4);
        CpuTensor xs = view(buf, 0, n, h);
        CpuTensor gu = view(buf, (long) n * h, n, 2L * inter);
        CpuTensor act = view(buf, (long) n * (h + 2L * inter), n, inter);
        CpuTensor ys = view(buf, (long) n * (h + 3L * inter), n, h);

        Ops.embedding(pool, xs, x, tokenOf); // gather: xs[r] = x[tokenOf[r]]
        for (int e = 0; e < numExperts; e++) {
            if (start[e] < start[e + 1]) {
                matmul.run(pool, rows(backend, gu, start[e], start[e + 1]), rows(backend, xs, start[e], start[e + 1]),
                        rows(backend, gateUp, 2L * e * inter, 2L * (e + 1) * inter));
            }
        }
        Ops.siluMul(pool, act, gu);
        for (int e = 0; e < numExperts; e++) {
            if (start[e] < start[e + 1]) {
                matmul.run(pool, rows(backend, ys, start[e], start[e + 1]), rows(backend, act, start[e], start[e + 1]),
                        rows(backend, down, (long) e * h, (long) (e + 1) * h));
            }
        }
        combine(pool, out, ys, rowOf, weights, k);
    }

    /** out[t] = sum_j weights[t*k+j] * ys[rowOf[t*k+j]]. */
    private static void combine(WorkerPool pool, CpuTensor out, CpuTensor ys, int[] rowOf, float[] weights, int k) {
        int h = (int) out.cols();
        MemorySegment o = out.segment();
        MemorySegment y = ys.segment();
        long os = out.rowStride();
        Ops.forRows(pool, out.rows(), (long) h * k, (from, to) -> {
            for (int t = from; t < to; t++) {
                long oo = t * os;
                int i = 0;
                for (; i + L <= h; i += L) {
                    FloatVector acc = FloatVector.zero(Vec.F);
                    for (int j = 0; j < k; j++) {
                        long yo = (long) rowOf[t * k + j] * h;
                        acc = Vec.f32(y, 4 * (yo + i)).fma(FloatVector.broadcast(Vec.F, weights[t * k + j]), acc);
                    }
                    acc.intoMemorySegment(o, 4 * (oo + i), Vec.LE);
                }
                for (; i < h; i++) {
                    float acc = 0;
                    for (int j = 0; j < k; j++) {
                        acc += weights[t * k + j] * Vec.getF(y, (long) rowOf[t * k + j] * h + i);
                    }
                    Vec.setF(o, oo + i, acc);
                }
            }
        });
    }

    private MemorySegment scratch(long bytes) {
        if (scratch.byteSize() < bytes) {
            // the previous buffer is dropped to the GC; grown geometrically so rising batch sizes
            // reallocate O(log n) times
            scratch = Arena.ofAuto().allocate(Math.max(bytes, 2 * scratch.byteSize()), 64);
        }
        return scratch;
    }

    private static CpuTensor view(MemorySegment buf, long fromFloat, long rows, long cols) {
        return new CpuTensor(buf.asSlice(fromFloat * 4, rows * cols * 4), DType.F32, new long[] {rows, cols}, cols);
    }

    private static CpuTensor rows(CpuBackend backend, CpuTensor t, long from, long to) {
        return (CpuTensor) backend.sliceRows(t, from, to);
    }
}
