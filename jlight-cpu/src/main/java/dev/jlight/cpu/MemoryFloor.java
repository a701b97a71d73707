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

    static long sum(MemorySegment s) {
        long n = s.byteSize();
        long step = L.vectorByteSize();
        LongVector acc = LongVector.zero(L);
        long i = 0;
        for (; i + step <= n; i += step) {
            acc = acc.add(LongVector.fromMemorySegment(L, s, i, ByteOrder.LITTLE_ENDIAN));
        }
        long r = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            r += s.get(ValueLayout.JAVA_BYTE, i);
        }
        return r;
    }
}
