package dev.jlight.core.weights;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;

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
        boolean isNorm = shape.length == 1;
        double amp = isNorm ? 0.1 : 1.0 / Math.sqrt(Math.max(1, shape[shape.length - 1]));
        SplittableRandom rnd = new SplittableRandom(seed ^ name.hashCode());
        for (long i = 0; i < numel; i++) {
            float v = (float) ((rnd.nextDouble() * 2 - 1) * amp + (isNorm ? 1.0 : 0.0));
            switch (dtype) {
                case F32 -> seg.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, v);
                case BF16 -> seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, DType.floatToBf16(v));
                case F16 -> seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Float.floatToFloat16(v));
                default -> throw new IllegalStateException();
            }
        }
        return new WeightTensor(name, dtype, shape.clone(), seg, null);
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
