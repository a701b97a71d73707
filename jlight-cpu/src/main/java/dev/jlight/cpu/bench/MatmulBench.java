package dev.jlight.cpu.bench;

import dev.jlight.core.backend.Tensor;
import dev.jlight.core.weights.DType;
import dev.jlight.core.weights.WeightTensor;
import dev.jlight.cpu.CpuBackend;
import dev.jlight.cpu.MemoryFloor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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

/**
 * Matmul throughput of the CPU backend against the machine's memory-read floor, measured in the
 * same run. The floor is a vector sum over a large native array on the same number of threads,
 * four interleaved streams per thread (the GEMV kernel's access pattern); GEMV (T = 1) is
 * memory-bound and reported as a fraction of it. The weight is 2048×8192 (a 1B Llama's
 * down_proj); distinct copies totalling 512 MiB are cycled so every call streams from DRAM.
 *
 * <p>All cases run round-robin (floor, then each matmul, then again) so that on a shared machine
 * they see the same background load; the table gives the median and the best round of each.
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

    /** One measured case: runs once over its data and returns milliseconds per call. */
    private record Case(String dtype, int t, double bytesPerCall, double flopsPerCall, Run run) {
    }

    private interface Run {
        double once();
    }

    public static void main(String[] args) throws Exception {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 20;
        try (CpuBackend backend = new CpuBackend(); Arena arena = Arena.ofShared()) {
            int threads = backend.threads();
            System.out.printf("JLight CpuBackend matmul bench: %s, %d cores visible, %d threads, Java %s, %d-bit vectors%n",
                    cpuModel(), Runtime.getRuntime().availableProcessors(), threads, Runtime.version(),
                    FloatVector.SPECIES_PREFERRED.vectorBitSize());
            System.out.println("(other processes may be running on this machine: cases run round-robin, "
                    + "median and best round shown)");

            List<Case> cases = new ArrayList<>();
            MemorySegment big = arena.allocate(COPIES_BYTES, 64);
            big.fill((byte) 1);
            ExecutorService ex = Executors.newFixedThreadPool(threads);
            cases.add(new Case("floor", 0, COPIES_BYTES, 0, () -> floorOnce(ex, threads, big)));
            for (DType dt : new DType[] {DType.BF16, DType.F32, DType.F16}) {
                int copies = (int) Math.max(2, COPIES_BYTES / ((long) N * K * dt.bytes()));
                Tensor[] ws = weights(backend, arena, dt, copies);
                for (int t : dt == DType.BF16 ? new int[] {1, 8, 32} : new int[] {1}) {
                    Tensor x = backend.allocate(DType.F32, t, K);
                    fill(x, backend, t * K);
                    Tensor out = backend.allocate(DType.F32, t, N);
                    cases.add(new Case(dt.toString(), t, (double) N * K * dt.bytes(), 2.0 * t * N * K, () -> {
                        long t0 = System.nanoTime();
                        for (Tensor w : ws) {
                            backend.matmul(out, x, w);
                        }
                        return (System.nanoTime() - t0) / 1e6 / ws.length;
                    }));
                }
            }

            // warm-up: the JIT must have compiled the vector kernels (they run far slower before)
            long warmEnd = System.nanoTime() + 4_000_000_000L;
            while (System.nanoTime() < warmEnd) {
                for (Case c : cases) {
                    c.run().once();
                }
            }
            List<List<Double>> times = new ArrayList<>();
            for (int i = 0; i < cases.size(); i++) {
                times.add(new ArrayList<>());
            }
            long end = System.nanoTime() + (long) (seconds * 1e9);
            int rounds = 0;
            while (System.nanoTime() < end || rounds < 3) {
                for (int i = 0; i < cases.size(); i++) {
                    times.get(i).add(cases.get(i).run().once());
                }
                rounds++;
            }
            ex.shutdown();

            double[] floorMs = stats(times.get(0));
            double floorMed = COPIES_BYTES / (floorMs[0] * 1e6);
            double floorBest = COPIES_BYTES / (floorMs[1] * 1e6);
            System.out.printf("%nmemory-read floor (vector sum of %d MiB, 4 streams per thread, %d threads): "
                    + "median %.2f GB/s, best %.2f GB/s (%d rounds)%n%n", COPIES_BYTES >> 20, threads, floorMed,
                    floorBest, rounds);
            System.out.printf("%-5s %3s | %9s %8s %7s %8s | %9s %8s %7s %8s | %s%n", "w", "T", "med ms", "GB/s",
                    "%floor", "GFLOP/s", "best ms", "GB/s", "%floor", "GFLOP/s", "vs T x GEMV (median)");
            double gemvMed = 0;
            for (int i = 1; i < cases.size(); i++) {
                Case c = cases.get(i);
                double[] ms = stats(times.get(i));
                if (c.t() == 1) {
                    gemvMed = ms[0];
                }
                double gbMed = c.bytesPerCall() / (ms[0] * 1e6);
                double gbBest = c.bytesPerCall() / (ms[1] * 1e6);
                System.out.printf("%-5s %3d | %9.3f %8.2f %6.1f%% %8.1f | %9.3f %8.2f %6.1f%% %8.1f | %.2fx%n",
                        c.dtype(), c.t(), ms[0], gbMed, 100 * gbMed / floorMed, c.flopsPerCall() / (ms[0] * 1e6),
                        ms[1], gbBest, 100 * gbBest / floorBest, c.flopsPerCall() / (ms[1] * 1e6),
                        c.t() * gemvMed / ms[0]);
            }
        }
    }

    /** {median, min}. */
    private static double[] stats(List<Double> xs) {
        double[] a = xs.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(a);
        return new double[] {a[a.length / 2], a[0]};
    }

    /** One pass of the parallel sum; threads claim 1 MiB chunks dynamically, as the backend's pool does. */
    private static double floorOnce(ExecutorService ex, int threads, MemorySegment big) {
        long bytes = big.byteSize();
        long chunk = 1 << 20;
        long t0 = System.nanoTime();
        AtomicLong next = new AtomicLong();
        List<Future<Float>> fs = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            fs.add(ex.submit(() -> {
                float s = 0;
                long at;
                while ((at = next.getAndAdd(chunk)) < bytes) {
                    s += MemoryFloor.sum(big.asSlice(at, Math.min(chunk, bytes - at)));
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
