package dev.jlight.cpu.bench;

import dev.jlight.core.backend.Tensor;
import dev.jlight.core.weights.DType;
import dev.jlight.core.weights.WeightTensor;
import dev.jlight.cpu.CpuBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Matmul throughput of the CPU backend against the machine's memory-read floor, measured in the
 * same run: the floor is a vector sum over a large native array on the same number of threads
 * (the best a streaming kernel can do); GEMV (T = 1) is memory-bound and reported as a fraction
 * of it. The weight is 2048×8192 (a 1B Llama's down_proj); {@code copies} distinct copies are
 * cycled so the working set exceeds the last-level cache and every call streams from DRAM.
 *
 * <pre>java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *     -cp jlight-cpu/target/classes:jlight-core/target/classes dev.jlight.cpu.bench.MatmulBench [seconds]</pre>
 */
public final class MatmulBench {
    private static final int N = 2048;
    private static final int K = 8192;
    private static final long COPIES_BYTES = 512L << 20;

    private MatmulBench() {
    }

    public static void main(String[] args) throws Exception {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 1.5;
        try (CpuBackend backend = new CpuBackend(); Arena arena = Arena.ofShared()) {
            int threads = backend.threads();
            System.out.printf("JLight CpuBackend matmul bench: %s, %d cores visible, %d threads, Java %s, %d-bit vectors%n",
                    cpuModel(), Runtime.getRuntime().availableProcessors(), threads, Runtime.version(),
                    FloatVector.SPECIES_PREFERRED.vectorBitSize());
            System.out.println("(other processes may be running on this machine; numbers are medians of repeated runs)");

            double floor = memoryFloor(arena, threads, seconds);
            System.out.printf("%nmemory-read floor (vector sum of a %d MiB array, %d threads): %.2f GB/s%n%n",
                    COPIES_BYTES >> 20, threads, floor);

            System.out.printf("%-6s %4s %10s %10s %10s %10s %14s%n", "w", "T", "ms/call", "w GB/s", "% floor",
                    "GFLOP/s", "vs T x GEMV");
            for (DType dt : new DType[] {DType.BF16, DType.F32, DType.F16}) {
                int copies = (int) Math.max(2, COPIES_BYTES / ((long) N * K * dt.bytes()));
                Tensor[] ws = weights(backend, arena, dt, copies);
                double gemv = 0;
                int[] ts = dt == DType.BF16 ? new int[] {1, 8, 32} : new int[] {1};
                for (int t : ts) {
                    Tensor x = backend.allocate(DType.F32, t, K);
                    fill(x, backend, t * K);
                    Tensor out = backend.allocate(DType.F32, t, N);
                    double ms = median(() -> {
                        long t0 = System.nanoTime();
                        int calls = 0;
                        for (Tensor w : ws) {
                            backend.matmul(out, x, w);
                            calls++;
                        }
                        return (System.nanoTime() - t0) / 1e6 / calls;
                    }, seconds);
                    if (t == 1) {
                        gemv = ms;
                    }
                    double gbs = (double) N * K * dt.bytes() / (ms * 1e6);
                    double gflops = 2.0 * t * N * K / (ms * 1e6);
                    System.out.printf("%-6s %4d %10.3f %10.2f %9.1f%% %10.1f %13.2fx%n", dt, t, ms, gbs, 100 * gbs / floor,
                            gflops, t * gemv / ms);
                }
            }
        }
    }

    /**
     * GB/s of a parallel vector sum over a large native array on as many threads as the backend,
     * which claim 1 MiB chunks dynamically (as the backend's pool does, so a core slowed by
     * another process does not hold the others back).
     */
    private static double memoryFloor(Arena arena, int threads, double seconds) throws Exception {
        long bytes = COPIES_BYTES;
        long chunk = 1 << 20;
        MemorySegment big = arena.allocate(bytes, 64);
        for (long i = 0; i < bytes; i += 4096) {
            big.set(ValueLayout.JAVA_FLOAT, i, 1f);
        }
        ExecutorService ex = Executors.newFixedThreadPool(threads);
        try {
            double ms = median(() -> {
                long t0 = System.nanoTime();
                AtomicLong next = new AtomicLong();
                List<Future<Float>> fs = new ArrayList<>();
                for (int i = 0; i < threads; i++) {
                    fs.add(ex.submit(() -> {
                        float s = 0;
                        long at;
                        while ((at = next.getAndAdd(chunk)) < bytes) {
                            s += sum(big.asSlice(at, Math.min(chunk, bytes - at)));
                        }
                        return s;
                    }));
                }
                float s = 0;
                for (Future<Float> f : fs) {
                    try {
                        s += f.get();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }
                if (s == 42) {
                    System.out.print("");
                }
                return (System.nanoTime() - t0) / 1e6;
            }, seconds);
            return bytes / (ms * 1e6);
        } finally {
            ex.shutdown();
        }
    }

    /** Four independent vector sums over a segment (offsets from 0, so bounds checks hoist). */
    private static float sum(MemorySegment s) {
        VectorSpecies<Float> sp = FloatVector.SPECIES_PREFERRED;
        int step = sp.vectorByteSize();
        FloatVector a = FloatVector.zero(sp);
        FloatVector b = FloatVector.zero(sp);
        FloatVector c = FloatVector.zero(sp);
        FloatVector d = FloatVector.zero(sp);
        int n = (int) s.byteSize() / (4 * step) * (4 * step);
        for (int i = 0; i < n; i += 4 * step) {
            a = a.add(FloatVector.fromMemorySegment(sp, s, i, ByteOrder.LITTLE_ENDIAN));
            b = b.add(FloatVector.fromMemorySegment(sp, s, i + step, ByteOrder.LITTLE_ENDIAN));
            c = c.add(FloatVector.fromMemorySegment(sp, s, i + 2L * step, ByteOrder.LITTLE_ENDIAN));
            d = d.add(FloatVector.fromMemorySegment(sp, s, i + 3L * step, ByteOrder.LITTLE_ENDIAN));
        }
        return a.add(b).add(c.add(d)).reduceLanes(VectorOperators.ADD);
    }

    private static Tensor[] weights(CpuBackend backend, Arena arena, DType dt, int copies) {
        Tensor[] ws = new Tensor[copies];
        SplittableRandom rnd = new SplittableRandom(1);
        for (int c = 0; c < copies; c++) {
            MemorySegment seg = arena.allocate((long) N * K * dt.bytes(), 64);
            for (long i = 0; i < (long) N * K; i++) {
                float v = (float) (rnd.nextDouble() * 0.02 - 0.01);
                switch (dt) {
                    case F32 -> seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
                    case BF16 -> seg.setAtIndex(ValueLayout.JAVA_SHORT, i, DType.floatToBf16(v));
                    default -> seg.setAtIndex(ValueLayout.JAVA_SHORT, i, Float.floatToFloat16(v));
                }
            }
            ws[c] = backend.weight(new WeightTensor("w" + c, dt, new long[] {N, K}, seg, null));
        }
        return ws;
    }

    private static void fill(Tensor x, CpuBackend backend, int n) {
        float[] v = new float[n];
        SplittableRandom rnd = new SplittableRandom(2);
        for (int i = 0; i < n; i++) {
            v[i] = (float) rnd.nextDouble();
        }
        backend.upload(x, MemorySegment.ofArray(v));
    }

    private interface Run {
        double once();
    }

    /**
     * Warms up for about {@code seconds} (at least 3 runs: the JIT must have compiled the vector
     * kernels, which run orders of magnitude slower before), then runs repeatedly for about
     * {@code seconds}; returns the median.
     */
    private static double median(Run r, double seconds) {
        long warm = System.nanoTime() + (long) (seconds * 1e9);
        for (int i = 0; i < 3 || System.nanoTime() < warm; i++) {
            r.once();
        }
        List<Double> xs = new ArrayList<>();
        long end = System.nanoTime() + (long) (seconds * 1e9);
        while (System.nanoTime() < end || xs.size() < 5) {
            xs.add(r.once());
        }
        double[] a = xs.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(a);
        return a[a.length / 2];
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (Exception e) {
            // not Linux
        }
        return System.getProperty("os.arch");
    }
}
