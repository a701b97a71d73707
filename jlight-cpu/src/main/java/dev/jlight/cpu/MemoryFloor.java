package dev.jlight.cpu;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The memory-bandwidth floor of a decode step: the time to read every weight byte once, measured
 * with a vectorized multi-threaded sum over the very segments the model reads. No decode step
 * can beat it on this machine, so benchmarks print their time beside it.
 */
public final class MemoryFloor {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private MemoryFloor() {
    }

    /** Result of one measurement: bytes read, best seconds over the repeats, and GB/s. */
    public record Result(long bytes, double seconds) {
        public double gbPerSecond() {
            return bytes / seconds / 1e9;
        }
    }

    /** Reads all segments {@code repeats} times with {@code threads} threads; returns the best pass. */
    public static Result measure(List<MemorySegment> segments, int threads, int repeats) {
        long total = segments.stream().mapToLong(MemorySegment::byteSize).sum();
        List<MemorySegment> chunks = split(segments, Math.max(1, total / (threads * 8L)));
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            double best = Double.MAX_VALUE;
            double sink = 0;
            for (int r = 0; r < repeats; r++) {
                long t0 = System.nanoTime();
                List<Future<Double>> parts = new ArrayList<>();
                int per = (chunks.size() + threads - 1) / threads;
                for (int w = 0; w < threads; w++) {
                    List<MemorySegment> mine = chunks.subList(Math.min(chunks.size(), w * per),
                            Math.min(chunks.size(), (w + 1) * per));
                    parts.add(pool.submit(() -> sumAll(mine)));
                }
                for (Future<Double> f : parts) {
                    sink += f.get();
                }
                best = Math.min(best, (System.nanoTime() - t0) / 1e9);
            }
            if (sink == 42) {
                System.out.print(""); // keeps the sums alive
            }
            return new Result(total, best);
        } catch (Exception e) {
            throw new IllegalStateException("memory floor measurement failed", e);
        } finally {
            pool.shutdownNow();
        }
    }

    private static List<MemorySegment> split(List<MemorySegment> segments, long chunk) {
        List<MemorySegment> out = new ArrayList<>();
        for (MemorySegment s : segments) {
            for (long off = 0; off < s.byteSize(); off += chunk) {
                out.add(s.asSlice(off, Math.min(chunk, s.byteSize() - off)));
            }
        }
        return out;
    }

    private static double sumAll(List<MemorySegment> segs) {
        double acc = 0;
        for (MemorySegment s : segs) {
            acc += sum(s);
        }
        return acc;
    }

    /**
     * Sum of a segment read as four interleaved streams (its quarters, stepped together): the
     * access pattern of the matmul kernel's four weight rows. One stream per core leaves DRAM
     * bandwidth unused and would understate the floor. Offsets start at 0 in each quarter's slice
     * so the bounds checks hoist. The value only keeps the reads alive; the tail past the last
     * whole vector of each quarter is not read.
     */
    public static float sum(MemorySegment s) {
        int step = F.vectorByteSize();
        long q = s.byteSize() / 4 / step * step;
        MemorySegment s0 = s.asSlice(0, q);
        MemorySegment s1 = s.asSlice(q, q);
        MemorySegment s2 = s.asSlice(2 * q, q);
        MemorySegment s3 = s.asSlice(3 * q, q);
        FloatVector a = FloatVector.zero(F);
        FloatVector b = FloatVector.zero(F);
        FloatVector c = FloatVector.zero(F);
        FloatVector d = FloatVector.zero(F);
        int n = (int) q;
        for (int i = 0; i < n; i += step) {
            a = a.add(FloatVector.fromMemorySegment(F, s0, i, ByteOrder.LITTLE_ENDIAN));
            b = b.add(FloatVector.fromMemorySegment(F, s1, i, ByteOrder.LITTLE_ENDIAN));
            c = c.add(FloatVector.fromMemorySegment(F, s2, i, ByteOrder.LITTLE_ENDIAN));
            d = d.add(FloatVector.fromMemorySegment(F, s3, i, ByteOrder.LITTLE_ENDIAN));
        }
        return a.add(b).add(c.add(d)).reduceLanes(VectorOperators.ADD);
    }
}
