package dev.jlight.cpu.bench;

import dev.jlight.core.backend.AttentionMetadata;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.backend.KvCacheSpec;
import dev.jlight.core.backend.RopeSpec;
import dev.jlight.core.backend.Tensor;
import dev.jlight.core.weights.DType;
import dev.jlight.core.weights.WeightTensor;
import dev.jlight.cpu.CpuBackend;
import dev.jlight.cpu.CpuTensor;
import dev.jlight.cpu.MemoryFloor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One decode step of a Llama-3.2-1B-shaped model (16 layers, hidden 2048, 32 heads / 8 KV heads
 * of 64, MLP 8192, vocab 128256 tied embedding; bf16 weights of constant contents, bf16 KV) run
 * with the backend's ops in the order a Llama forward calls them, against the memory-read floor
 * measured round-robin with it. Decode is memory-bound: a step streams every weight once
 * (2.47 GB), so weight bytes / step time over the floor is the efficiency. Not a model: the
 * real forward lives in jlight-core's model package; this only measures the backend.
 *
 * <pre>java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx4g \
 *     -cp jlight-cpu/target/classes:jlight-core/target/classes dev.jlight.cpu.bench.DecodeBench [batch] [context] [rounds]</pre>
 */
public final class DecodeBench {
    private static final int H = 2048;
    private static final int I = 8192;
    private static final int NH = 32;
    private static final int NKV = 8;
    private static final int HD = 64;
    private static final int LAYERS = 16;
    private static final int VOCAB = 128256;
    private static final int BLOCK = 16;

    private DecodeBench() {
    }

    public static void main(String[] args) {
        int batch = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        int ctx = args.length > 1 ? Integer.parseInt(args[1]) : 256;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 40;
        try (Arena arena = Arena.ofShared(); CpuBackend b = new CpuBackend()) {
            Tensor[] qkv = new Tensor[LAYERS];
            Tensor[] o = new Tensor[LAYERS];
            Tensor[] gateUp = new Tensor[LAYERS];
            Tensor[] down = new Tensor[LAYERS];
            Tensor[] norm1 = new Tensor[LAYERS];
            Tensor[] norm2 = new Tensor[LAYERS];
            for (int l = 0; l < LAYERS; l++) {
                qkv[l] = b.concatRows(w(b, arena, NH * HD, H), w(b, arena, NKV * HD, H), w(b, arena, NKV * HD, H));
                o[l] = w(b, arena, H, NH * HD);
                gateUp[l] = b.concatRows(w(b, arena, I, H), w(b, arena, I, H));
                down[l] = w(b, arena, H, I);
                norm1[l] = w(b, arena, H);
                norm2[l] = w(b, arena, H);
            }
            Tensor embed = w(b, arena, VOCAB, H);
            Tensor normF = w(b, arena, H);
            double weightBytes = LAYERS * ((double) (NH + 2 * NKV) * HD * H + (double) H * NH * HD + 3.0 * I * H) * 2
                    + (double) VOCAB * H * 2;

            int blocksPerSeq = (ctx + rounds + BLOCK) / BLOCK + 1;
            KvCache kv = b.allocateKvCache(new KvCacheSpec(LAYERS, blocksPerSeq * batch, BLOCK, NKV, HD, DType.BF16));
            int[][] tables = new int[batch][blocksPerSeq];
            for (int s = 0; s < batch; s++) {
                for (int i = 0; i < blocksPerSeq; i++) {
                    tables[s][i] = s * blocksPerSeq + i;
                }
            }
            Tensor x = b.allocate(DType.F32, batch, H);
            Tensor residual = b.allocate(DType.F32, batch, H);
            Tensor normed = b.allocate(DType.F32, batch, H);
            Tensor qkvOut = b.allocate(DType.F32, batch, (NH + 2 * NKV) * HD);
            Tensor q = b.sliceCols(qkvOut, 0, NH * HD);
            Tensor k = b.sliceCols(qkvOut, NH * HD, (NH + NKV) * HD);
            Tensor v = b.sliceCols(qkvOut, (NH + NKV) * HD, (NH + 2 * NKV) * HD);
            Tensor att = b.allocate(DType.F32, batch, NH * HD);
            Tensor guOut = b.allocate(DType.F32, batch, 2 * I);
            Tensor act = b.allocate(DType.F32, batch, I);
            Tensor logits = b.allocate(DType.F32, batch, VOCAB);
            RopeSpec rope = new RopeSpec(HD, HD, 500000, new RopeSpec.Scaling("llama3", 32, 1, 4, 8192));
            MemorySegment floorData = arena.allocate(1L << 30, 64);
            floorData.fill((byte) 1);

            System.out.printf("JLight CpuBackend decode bench: Llama-3.2-1B shapes, bf16, batch %d, context %d, "
                    + "%d threads (other processes may be running: step and floor alternate)%n", batch, ctx, b.threads());
            List<Double> stepMs = new ArrayList<>();
            List<Double> floorMs = new ArrayList<>();
            int warm = 8;
            for (int step = 0; step < warm + rounds; step++) {
                double f = floorOnce(floorData, b.threads());
                int p = ctx + step;
                int[] queryStart = new int[batch + 1];
                int[] seqLens = new int[batch];
                int[] slots = new int[batch];
                int[] ids = new int[batch];
                int[] positions = new int[batch];
                for (int s = 0; s < batch; s++) {
                    queryStart[s + 1] = s + 1;
                    seqLens[s] = p + 1;
                    slots[s] = tables[s][p / BLOCK] * BLOCK + p % BLOCK;
                    ids[s] = 1000 + s;
                    positions[s] = p;
                }
                AttentionMetadata meta = new AttentionMetadata(queryStart, seqLens, tables, slots, BLOCK);
                long t0 = System.nanoTime();
                b.embedding(residual, embed, CpuTensor.of(ids));
                Tensor pos = CpuTensor.of(positions);
                b.rmsNorm(normed, residual, norm1[0], 1e-5f);
                for (int l = 0; l < LAYERS; l++) {
                    if (l > 0) {
                        b.addRmsNorm(normed, residual, x, norm1[l], 1e-5f);
                    }
                    b.matmul(qkvOut, normed, qkv[l]);
                    b.rope(q, k, pos, rope, NH, NKV);
                    b.writeKv(kv, l, k, v, meta);
                    b.attention(att, q, kv, l, meta, NH, 0.125f);
                    b.matmul(x, att, o[l]);
                    b.addRmsNorm(normed, residual, x, norm2[l], 1e-5f);
                    b.matmul(guOut, normed, gateUp[l]);
                    b.siluMul(act, guOut);
                    b.matmul(x, act, down[l]);
                }
                b.addRmsNorm(normed, residual, x, normF, 1e-5f);
                b.matmul(logits, normed, embed);
                double ms = (System.nanoTime() - t0) / 1e6;
                if (step >= warm) {
                    stepMs.add(ms);
                    floorMs.add(f);
                }
            }
            double[] sm = sorted(stepMs);
            double[] fm = sorted(floorMs);
            double floorBytes = floorData.byteSize();
            double stepMed = sm[sm.length / 2];
            double floorMed = fm[fm.length / 2];
            System.out.printf("decode step: median %.1f ms (%.1f tok/s, %.2f GB/s of weights), best %.1f ms (%.2f GB/s)%n",
                    stepMed, batch * 1000 / stepMed, weightBytes / stepMed / 1e6, sm[0], weightBytes / sm[0] / 1e6);
            System.out.printf("memory-read floor (1 GiB, 4 streams per thread): median %.2f GB/s, best %.2f GB/s%n",
                    floorBytes / floorMed / 1e6, floorBytes / fm[0] / 1e6);
            System.out.printf("efficiency (weight GB/s over floor): median %.0f%%, best %.0f%%%n",
                    100 * (weightBytes / stepMed) / (floorBytes / floorMed), 100 * (weightBytes / sm[0]) / (floorBytes / fm[0]));
        }
    }

    private static Tensor w(CpuBackend b, Arena arena, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        MemorySegment s = arena.allocate(n * 2, 64);
        s.fill((byte) 0x3c); // bf16 0x3c3c ≈ 0.0115
        return b.weight(new WeightTensor("w", DType.BF16, shape, s, null));
    }

    private static double[] sorted(List<Double> xs) {
        double[] a = xs.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(a);
        return a;
    }

    /** One parallel pass over {@code data} (threads claim 1 MiB chunks); milliseconds. */
    private static double floorOnce(MemorySegment data, int threads) {
        long bytes = data.byteSize();
        AtomicLong next = new AtomicLong();
        Thread[] ts = new Thread[threads];
        long t0 = System.nanoTime();
        for (int i = 0; i < threads; i++) {
            ts[i] = new Thread(() -> {
                long at;
                float s = 0;
                while ((at = next.getAndAdd(1 << 20)) < bytes) {
                    s += MemoryFloor.sum(data.asSlice(at, Math.min(1 << 20, bytes - at)));
                }
                if (s == 42) {
                    System.out.print("");
                }
            });
            ts[i].start();
        }
        for (Thread t : ts) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return (System.nanoTime() - t0) / 1e6;
    }
}
