package dev.jlight.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The memory-bandwidth floor of a decode step: the time to read every weight byte once, measured
 * with a vectorized multi-threaded sum over the very segments the model reads. No decode step
 * can beat it on this machine, so benchmarks print their time beside it.
 */
public final class MemoryFloor {
    private static final VectorSpecies<Long> L = LongVector.SPECIES_PREFERRED;

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
            long sink = 0;
            for (int r = 0; r < repeats; r++) {
                long t0 = System.nanoTime();
                List<Future<Long>> parts = new ArrayList<>();
                int per = (chunks.size() + threads - 1) / threads;
                for (int w = 0; w < threads; w++) {
                    List<MemorySegment> mine = chunks.subList(Math.min(chunks.size(), w * per),
                            Math.min(chunks.size(), (w + 1) * per));
                    parts.add(pool.submit(() -> sumAll(mine)));
                }
                for (Future<Long> f : parts) {
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

    private static long sumAll(List<MemorySegment> segs) {
        long acc = 0;
        for (MemorySegment s : segs) {
            acc += sum(s);
        }
        return acc;
    }

    /**
     * Sum of a segment read as four interleaved streams (its quarters, stepped together): the
     * access pattern of the matmul kernel's four weight rows. One stream per core leaves DRAM
     * bandwidth unused on this kind of machine and would understate the floor.
     */
    static long sum(MemorySegment s) {
        long step = L.vectorByteSize();
        long quarter = s.byteSize() / 4 / step * step;
        LongVector a0 = LongVector.zero(L);
        LongVector a1 = LongVector.zero(L);
        LongVector a2 = LongVector.zero(L);
        LongVector a3 = LongVector.zero(L);
        for (long i = 0; i < quarter; i += step) {
            a0 = a0.add(LongVector.fromMemorySegment(L, s, i, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(LongVector.fromMemorySegment(L, s, quarter + i, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(LongVector.fromMemorySegment(L, s, 2 * quarter + i, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(LongVector.fromMemorySegment(L, s, 3 * quarter + i, ByteOrder.LITTLE_ENDIAN));
        }
        long r = a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
        for (long i = 4 * quarter; i < s.byteSize(); i++) {
            r += s.get(ValueLayout.JAVA_BYTE, i);
        }
        return r;
    }
}
