package dev.jlight.core.weights;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Random weights of whatever shape the architecture asks for ({@code --load-format dummy}, as
 * vLLM's): benchmarks at real model shapes without the real files. Values are small uniform
 * numbers (norm weights near 1) so activations stay finite through many layers.
 */
public final class DummyWeights implements Weights {
    private final Arena arena = Arena.ofShared();
    private final DType dtype;
    private final long seed;
    private final Map<String, WeightTensor> made = new LinkedHashMap<>();

    public DummyWeights(DType dtype, long seed) {
        if (!dtype.isFloatWeight()) {
            throw new IllegalArgumentException("dummy weights need a float dtype, not " + dtype);
        }
        this.dtype = dtype;
        this.seed = seed;
    }

    @Override
    public Optional<WeightTensor> find(String name) {
        return Optional.ofNullable(made.get(name));
    }

    @Override
    public synchronized WeightTensor require(String name, long... shape) {
        return made.computeIfAbsent(name, n -> make(n, shape));
    }

    private WeightTensor make(String name, long[] shape) {
        long numel = 1;
        for (long d : shape) {
            numel *= d;
        }
        MemorySegment seg = arena.allocate(numel * dtype.bytes(), 64);
        fill(seg, dtype, shape, seed ^ name.hashCode());
        return new WeightTensor(name, dtype, shape.clone(), seg, null);
    }

    /**
     * Fills {@code seg} with {@code shape}'s elements of {@code dtype}: uniform in ±1/√K for a
     * matrix of K columns, 1 ± 0.1 for a vector (norm weights). Chunks of 1 Mi elements are
     * filled in parallel, each from its own seeded generator, so an 8B-parameter shape takes
     * seconds, not a minute.
     */
    public static void fill(MemorySegment seg, DType dtype, long[] shape, long seed) {
        long numel = seg.byteSize() / dtype.bytes();
        boolean isNorm = shape.length == 1;
        double amp = isNorm ? 0.1 : 1.0 / Math.sqrt(Math.max(1, shape[shape.length - 1]));
        double offset = isNorm ? 1.0 : 0.0;
        long chunk = 1L << 20;
        int chunks = (int) ((numel + chunk - 1) / chunk);
        IntStream.range(0, chunks).parallel().forEach(c -> {
            SplittableRandom rnd = new SplittableRandom(seed * 31 + c);
            long end = Math.min(numel, (c + 1) * chunk);
            for (long i = c * chunk; i < end; i++) {
                float v = (float) ((rnd.nextDouble() * 2 - 1) * amp + offset);
                switch (dtype) {
                    case F32 -> seg.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, v);
                    case BF16 -> seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, DType.floatToBf16(v));
                    case F16 -> seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Float.floatToFloat16(v));
                    default -> throw new IllegalStateException("dummy weights of " + dtype);
                }
            }
        });
    }

    @Override
    public Set<String> names() {
        return made.keySet();
    }

    @Override
    public long totalBytes() {
        return made.values().stream().mapToLong(t -> t.data().byteSize()).sum();
    }

    @Override
    public void close() {
        arena.close();
    }
}
