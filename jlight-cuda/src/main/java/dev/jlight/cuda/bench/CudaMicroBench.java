package dev.jlight.cuda.bench;

import dev.jlight.core.backend.AttentionMetadata;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.backend.KvCacheSpec;
import dev.jlight.core.backend.Tensor;
import dev.jlight.core.weights.DType;
import dev.jlight.cuda.CudaBackend;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The two ceilings of the GPU as JLight sees it, and where the decode path stands against them:
 * the memory-read floor (a device-to-device copy: bytes read + written over time), cuBLASLt's
 * bf16 GEMM rate at 4096³, GEMV bandwidth at Llama-3.1-8B decode shapes (T=1, 2, 4, 8: cuBLASLt and the
 * GEMV kernel; T=64 cuBLASLt for comparison), paged decode attention bandwidth, and Mixtral-8x7B's
 * routed experts (moeExperts at T = 1, 64, 512, 4096 against the same routing run as one cuBLASLt
 * GEMM pair per expert). Times are medians of device-event timings; inputs are random (never
 * zeros), weights rotated among copies larger than L2 together.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -cp ... dev.jlight.cuda.bench.CudaMicroBench [iterations] [moe]</pre>
 * ({@code moe}: the copy floor and the MoE rows only)
 */
public final class CudaMicroBench {
    private record Row(String what, String shape, double medianUs, String rate, String ratio) {
    }

    private final CudaBackend gpu;
    private final int iterations;
    private final List<Row> rows = new ArrayList<>();

    private CudaMicroBench(CudaBackend gpu, int iterations) {
        this.gpu = gpu;
        this.iterations = iterations;
    }

    public static void main(String[] args) {
        int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 50;
        CudaBackend.Availability a = CudaBackend.probe();
        if (!a.available()) {
            System.out.println("CudaMicroBench: no CUDA backend here: " + a.reason());
            System.exit(2);
        }
        try (CudaBackend gpu = new CudaBackend(CudaBackend.Options.defaults().withArenaBytes(24L << 30))) {
            System.out.println("device: " + gpu.describe());
            CudaMicroBench b = new CudaMicroBench(gpu, iterations);
            double floor = b.copyFloor();
            if (args.length > 1 && args[1].equals("moe")) {
                b.mixtralExperts(floor);
                b.print();
                System.out.println(gpu.arena().summary());
                return;
            }
            b.gemm(4096, 4096, 4096);
            b.gemm(8192, 8192, 8192);
            int h = 4096, inter = 14336, q = 4096, kv = 1024, vocab = 128256;
            b.gemv("qkv_proj", q + 2 * kv, h, DType.BF16, floor);
            b.gemv("o_proj", h, q, DType.BF16, floor);
            b.gemv("gate_up_proj", 2 * inter, h, DType.BF16, floor);
            b.gemv("down_proj", h, inter, DType.BF16, floor);
            b.gemv("lm_head", vocab, h, DType.F32, floor);
            b.decodeAttention(64, 576, 32, 8, 128, floor);  // Llama-3.1-8B decode at batch 64 (issue 6)
            b.decodeAttention(64, 1024, 32, 8, 128, floor);
            b.decodeAttention(1, 640, 32, 8, 128, floor);
            b.decodeAttention(1, 8192, 32, 8, 128, floor);
            b.decodeAttention(256, 640, 32, 8, 128, floor);
            b.mixtralExperts(floor);
            b.print();
            System.out.println(gpu.arena().summary());
        }
    }

    /** Untimed runs before a timing: JIT-compiles the host's launch path. */
    private static final int WARMUP = 20;
    /** The 1 GiB copy of copyFloor (~0.7 ms), reused to hold the device while launches queue. */
    private Tensor blockerSrc;
    private Tensor blockerDst;

    /** Copy of 1 GiB: (read + write) bytes / time is the bandwidth any memory-bound op can hope for. */
    private double copyFloor() {
        long n = 1L << 29; // bf16 elements = 1 GiB
        Tensor src = random(DType.BF16, n / 4096, 4096);
        Tensor dst = gpu.allocate(DType.BF16, n / 4096, 4096);
        blockerSrc = src;
        blockerDst = dst;
        double us = median(gpu.timeMs(() -> gpu.copy(dst, src), 3, iterations)) * 1000;
        double gbs = 2.0 * n * 2 / (us * 1e3);
        rows.add(new Row("copy d2d (read+write)", "1 GiB", us, fmt("%.0f GB/s", gbs), "floor"));
        return gbs;
    }

    private void gemm(int m, int n, int k) {
        Tensor x = random(DType.BF16, m, k);
        Tensor w = random(DType.BF16, n, k);
        Tensor out = gpu.allocate(DType.BF16, m, n);
        double us = median(gpu.timeMs(() -> gpu.matmul(out, x, w), 5, iterations)) * 1000;
        double tflops = 2.0 * m * n * k / (us * 1e6);
        rows.add(new Row("cuBLASLt bf16 GEMM", m + "x" + n + "x" + k, us, fmt("%.0f TFLOP/s", tflops),
                fmt("%.0f%% of 989", 100 * tflops / 989)));
    }

    /** out[T,N] = x[T,K]·wᵀ with the weight rotated among copies so L2 holds none of them. */
    private void gemv(String name, int n, int k, DType outType, double floor) {
        long weightBytes = 2L * n * k;
        int copies = (int) Math.max(2, Math.min(8, (256L << 20) / weightBytes + 1));
        Tensor[] ws = new Tensor[copies];
        for (int i = 0; i < copies; i++) {
            ws[i] = random(DType.BF16, n, k);
        }
        CudaBackend.GemvMode before = gpu.gemvMode();
        try {
            for (int t : new int[] {1, 2, 4, 8, 64}) {
                Tensor x = random(DType.BF16, t, k);
                Tensor out = gpu.allocate(outType, t, n);
                // cuBLASLt, and for T <= 8 the GEMV kernel too
                for (CudaBackend.GemvMode mode : t <= 8 ? List.of(CudaBackend.GemvMode.OFF, CudaBackend.GemvMode.ON)
                        : List.of(CudaBackend.GemvMode.OFF)) {
                    gpu.setGemvMode(mode);
                    int warmup = Math.max(copies, WARMUP);
                    int[] next = {0};
                    // the first timed run queues a long copy ahead of itself, so the host has
                    // queued the following launches before the device reaches them: the
                    // intervals measure the kernels, not the host's launch rate (the first
                    // interval, holding the copy, is the median's outlier)
                    double us = median(gpu.timeMs(() -> {
                        if (next[0] == warmup) {
                            gpu.copy(blockerDst, blockerSrc);
                        }
                        gpu.matmul(out, x, ws[next[0]++ % copies]);
                    }, warmup, iterations)) * 1000;
                    long bytes = weightBytes + 2L * t * k + (long) outType.bytes() * t * n;
                    double gbs = bytes / (us * 1e3);
                    rows.add(new Row((mode == CudaBackend.GemvMode.ON ? "gemv " : "matmul ") + name,
                            "T=" + t + " N=" + n + " K=" + k + " out=" + outType, us, fmt("%.0f GB/s", gbs),
                            fmt("%.0f%% of floor", 100 * gbs / floor)));
                }
            }
        } finally {
            gpu.setGemvMode(before);
        }
    }

    /** Paged decode attention: one new token per sequence over ctx cached tokens. */
    private void decodeAttention(int seqs, int ctx, int heads, int kvHeads, int hd, double floor) {
        int block = 16;
        int blocksPerSeq = (ctx + block - 1) / block;
        int numBlocks = seqs * blocksPerSeq;
        KvCache cache = gpu.allocateKvCache(new KvCacheSpec(1, numBlocks, block, kvHeads, hd, DType.BF16));
        int kvDim = kvHeads * hd;
        int[][] tables = new int[seqs][blocksPerSeq];
        int[] all = new int[numBlocks];
        for (int i = 0; i < numBlocks; i++) {
            all[i] = i;
        }
        shuffle(all);
        for (int s = 0; s < seqs; s++) {
            System.arraycopy(all, s * blocksPerSeq, tables[s], 0, blocksPerSeq);
        }
        // fill the cache with random K/V: one "prefill" writing every position
        int[] qs = new int[seqs + 1];
        int[] lens = new int[seqs];
        int[] slots = new int[seqs * ctx];
        for (int s = 0; s < seqs; s++) {
            qs[s + 1] = qs[s] + ctx;
            lens[s] = ctx;
            for (int p = 0; p < ctx; p++) {
                slots[s * ctx + p] = tables[s][p / block] * block + p % block;
            }
        }
        AttentionMetadata fill = new AttentionMetadata(qs, lens, tables, slots, block);
        int chunk = seqs * ctx;
        Tensor k = random(DType.BF16, chunk, kvDim);
        Tensor v = random(DType.BF16, chunk, kvDim);
        gpu.writeKv(cache, 0, k, v, fill);
        // the decode step: the last position of each sequence again (slot -1: already cached)
        int[] dqs = new int[seqs + 1];
        int[] dslots = new int[seqs];
        for (int s = 0; s < seqs; s++) {
            dqs[s + 1] = s + 1;
            dslots[s] = -1;
        }
        AttentionMetadata step = new AttentionMetadata(dqs, lens, tables, dslots, block);
        Tensor q = random(DType.BF16, seqs, (long) heads * hd);
        Tensor out = gpu.allocate(DType.BF16, seqs, (long) heads * hd);
        float scale = (float) (1 / Math.sqrt(hd));
        CudaBackend.AttentionKernel before = gpu.attentionKernel();
        CudaBackend.DecodeAttention beforeDecode = gpu.decodeAttention();
        // DECODE twice: on tensor cores (where the shape has an instance) and on CUDA cores
        record Variant(String name, CudaBackend.AttentionKernel kind, CudaBackend.DecodeAttention decode) { }
        List<Variant> variants = List.of(
                new Variant("decode tc", CudaBackend.AttentionKernel.DECODE, CudaBackend.DecodeAttention.TC),
                new Variant("decode simt", CudaBackend.AttentionKernel.DECODE, CudaBackend.DecodeAttention.SIMT),
                new Variant("split", CudaBackend.AttentionKernel.SPLIT, beforeDecode),
                new Variant("grouped", CudaBackend.AttentionKernel.GROUPED, beforeDecode));
        try {
            for (Variant variant : variants) {
                gpu.setAttentionKernel(variant.kind());
                gpu.setDecodeAttention(variant.decode());
                double us = median(gpu.timeMs(() -> gpu.attention(out, q, cache, 0, step, heads, scale), 3,
                        iterations)) * 1000;
                long bytes = 2L * seqs * ctx * kvDim * 2 + 2L * 2 * seqs * heads * hd;
                double gbs = bytes / (us * 1e3);
                rows.add(new Row("attention " + variant.name(), "seqs=" + seqs + " ctx=" + ctx
                        + " heads=" + heads + "/" + kvHeads + " D=" + hd, us, fmt("%.0f GB/s", gbs),
                        fmt("%.0f%% of floor", 100 * gbs / floor)));
            }
        } finally {
            gpu.setAttentionKernel(before);
            gpu.setDecodeAttention(beforeDecode);
        }
        cache.close();
    }

    /** Mixtral-8x7B's routed experts (H 4096, I 14336, E 8, top-2) at decode and prefill sizes. */
    private void mixtralExperts(double floor) {
        int h = 4096, inter = 14336, e = 8, k = 2;
        Tensor gateUp = random(DType.BF16, 2L * e * inter, h);
        Tensor down = random(DType.BF16, (long) e * h, inter);
        for (int t : new int[] {1, 64, 512, 4096}) {
            moeExperts(t, e, k, h, inter, gateUp, down, floor);
        }
    }

    /**
     * moeExperts on a random routing (each token k distinct experts, uniformly): TFLOP/s of the
     * 2*T*k*3*H*I expert flops and GB/s of the weights of the experts it touched; the baseline
     * ("vs") is the same routing as a loop over experts of cuBLASLt matmul (or GEMV) gate/up,
     * siluMul, matmul down on rows already grouped by expert (no gather, no weighting, no sum).
     */
    private void moeExperts(int t, int e, int k, int h, int inter, Tensor gateUp, Tensor down, double floor) {
        java.util.Random r = new java.util.Random(t);
        int[] ids = new int[t * k];
        float[] w = new float[t * k];
        int[] count = new int[e];
        for (int i = 0; i < t; i++) {
            int[] perm = r.ints(0, e).distinct().limit(k).toArray();
            for (int j = 0; j < k; j++) {
                ids[i * k + j] = perm[j];
                w[i * k + j] = 1f / k;
                count[perm[j]]++;
            }
        }
        Tensor topIds = gpu.allocate(DType.I32, t, k);
        Tensor topWeights = gpu.allocate(DType.F32, t, k);
        gpu.upload(topIds, MemorySegment.ofArray(ids));
        gpu.upload(topWeights, MemorySegment.ofArray(w));
        Tensor x = random(DType.BF16, t, h);
        Tensor out = gpu.allocate(DType.BF16, t, h);
        double us = median(gpu.timeMs(() -> gpu.moeExperts(out, x, gateUp, down, topIds, topWeights, e), 3,
                iterations)) * 1000;
        // baseline: per expert, its rows already grouped
        Tensor xs = random(DType.BF16, (long) t * k, h);
        Tensor gu = gpu.allocate(DType.BF16, (long) t * k, 2L * inter);
        Tensor act = gpu.allocate(DType.BF16, (long) t * k, inter);
        Tensor ys = gpu.allocate(DType.BF16, (long) t * k, h);
        Runnable perExpert = () -> {
            long row = 0;
            for (int ex = 0; ex < e; ex++) {
                if (count[ex] == 0) {
                    continue;
                }
                long end = row + count[ex];
                Tensor a = gpu.sliceRows(act, row, end);
                gpu.matmul(gpu.sliceRows(gu, row, end), gpu.sliceRows(xs, row, end),
                        gpu.sliceRows(gateUp, 2L * ex * inter, 2L * (ex + 1) * inter));
                gpu.siluMul(a, gpu.sliceRows(gu, row, end));
                gpu.matmul(gpu.sliceRows(ys, row, end), a, gpu.sliceRows(down, (long) ex * h, (long) (ex + 1) * h));
                row = end;
            }
        };
        double baseUs = median(gpu.timeMs(perExpert, 3, iterations)) * 1000;
        long touched = Arrays.stream(count).filter(c -> c > 0).count();
        double tflops = 2.0 * t * k * 3 * h * inter / (us * 1e6);
        double gbs = touched * 3.0 * h * inter * 2 / (us * 1e3);
        String shape = "T=" + t + " E=" + e + " k=" + k + " H=" + h + " I=" + inter;
        rows.add(new Row("moeExperts", shape, us, fmt("%.0f TFLOP/s", tflops),
                fmt("%.2fx per-expert", baseUs / us)));
        rows.add(new Row("  weights read", touched + " experts", us, fmt("%.0f GB/s", gbs),
                fmt("%.0f%% of floor", 100 * gbs / floor)));
        rows.add(new Row("  per-expert cuBLASLt", shape, baseUs, fmt("%.0f TFLOP/s", 2.0 * t * k * 3 * h * inter
                / (baseUs * 1e6)), "baseline"));
    }

    /**
     * A dense 2-D tensor of random bf16 values in about [-1, 1) (f32 tensors get the bits of two),
     * uploaded from one 32 MiB block of random host data repeated: never zeros, and cheap.
     */
    private Tensor random(DType type, long rows, long cols) {
        Tensor t = gpu.allocate(type, rows, cols);
        long rowBytes = cols * type.bytes();
        long rowsPerChunk = Math.max(1, RANDOM_BYTES / rowBytes);
        for (long r = 0; r < rows; r += rowsPerChunk) {
            long n = Math.min(rowsPerChunk, rows - r);
            gpu.upload(gpu.sliceRows(t, r, r + n), randomHost().asSlice(0, n * rowBytes));
        }
        return t;
    }

    private static final long RANDOM_BYTES = 32L << 20;
    private MemorySegment randomHost;

    private MemorySegment randomHost() {
        if (randomHost == null) {
            short[] v = new short[(int) (RANDOM_BYTES / 2)];
            long x = 0x9E3779B97F4A7C15L;
            for (int i = 0; i < v.length; i++) {
                x ^= x << 13;
                x ^= x >>> 7;
                x ^= x << 17;
                // random sign and mantissa, exponent 0x78..0x7f: magnitudes 2^-7 .. 2
                v[i] = (short) ((x & 0x807f) | ((0x78 + ((x >>> 16) & 0x7)) << 7));
            }
            randomHost = MemorySegment.ofArray(v);
        }
        return randomHost;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static void shuffle(int[] a) {
        java.util.Random r = new java.util.Random(7);
        for (int i = a.length - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int tmp = a[i];
            a[i] = a[j];
            a[j] = tmp;
        }
    }

    private void print() {
        System.out.println();
        System.out.printf(Locale.ROOT, "%-24s %-40s %12s %16s %16s%n", "op", "shape", "median us", "rate", "vs");
        for (Row r : rows) {
            System.out.printf(Locale.ROOT, "%-24s %-40s %12.1f %16s %16s%n", r.what(), r.shape(), r.medianUs(),
                    r.rate(), r.ratio());
        }
    }

    private static String fmt(String f, Object... a) {
        return String.format(Locale.ROOT, f, a);
    }
}
