package dev.jlight.cpu;

import static dev.jlight.cpu.Vec.F;
import static dev.jlight.cpu.Vec.L;

import dev.jlight.core.backend.RopeSpec;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import jdk.incubator.vector.FloatVector;

/**
 * Rotary embedding in place, NeoX pairing (i, i + rotaryDim/2) within each head, as HF computes
 * it in f32: angle = (float) position * invFreq[i] (one f32 multiply, like torch's matmul of the
 * two), cos/sin rounded to f32, then x1*cos - x2*sin and x2*cos + x1*sin with separate f32
 * multiplies and adds (no fused multiply-add, so the rounding is torch's).
 */
final class Rope {
    private final Map<RopeSpec, float[]> invFreqs = new ConcurrentHashMap<>();

    float[] invFreq(RopeSpec spec) {
        return invFreqs.computeIfAbsent(spec, RopeSpec::inverseFrequencies);
    }

    void apply(WorkerPool pool, CpuTensor q, CpuTensor k, int[] positions, RopeSpec spec, int numHeads,
               int numKvHeads) {
        float[] inv = invFreq(spec);
        int hd = spec.headDim();
        int half = spec.rotaryDim() / 2;
        MemorySegment qs = q.segment();
        MemorySegment ks = k.segment();
        long qst = q.rowStride();
        long kst = k.rowStride();
        long perToken = (long) (numHeads + numKvHeads) * hd;
        Ops.forRows(pool, positions.length, perToken, (from, to) -> {
            float[] cos = new float[half];
            float[] sin = new float[half];
            for (int t = from; t < to; t++) {
                float pos = positions[t];
                for (int i = 0; i < half; i++) {
                    float angle = pos * inv[i];
                    cos[i] = (float) Math.cos(angle);
                    sin[i] = (float) Math.sin(angle);
                }
                for (int h = 0; h < numHeads; h++) {
                    rotate(qs, t * qst + (long) h * hd, half, cos, sin);
                }
                for (int h = 0; h < numKvHeads; h++) {
                    rotate(ks, t * kst + (long) h * hd, half, cos, sin);
                }
            }
        });
    }

    /** One head starting at element {@code base}. */
    private static void rotate(MemorySegment s, long base, int half, float[] cos, float[] sin) {
        int i = 0;
        for (; i + L <= half; i += L) {
            long a = 4 * (base + i);
            long b = 4 * (base + half + i);
            FloatVector x1 = Vec.f32(s, a);
            FloatVector x2 = Vec.f32(s, b);
            FloatVector c = FloatVector.fromArray(F, cos, i);
            FloatVector sn = FloatVector.fromArray(F, sin, i);
            x1.mul(c).sub(x2.mul(sn)).intoMemorySegment(s, a, Vec.LE);
            x2.mul(c).add(x1.mul(sn)).intoMemorySegment(s, b, Vec.LE);
        }
        for (; i < half; i++) {
            float x1 = Vec.getF(s, base + i);
            float x2 = Vec.getF(s, base + half + i);
            Vec.setF(s, base + i, x1 * cos[i] - x2 * sin[i]);
            Vec.setF(s, base + half + i, x2 * cos[i] + x1 * sin[i]);
        }
    }
}
