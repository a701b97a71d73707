package dev.jlight.cuda.bench;

import dev.jlight.core.weights.DType;
import dev.jlight.core.weights.WeightTensor;
import dev.jlight.core.weights.Weights;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Random bf16 weights with {@link dev.jlight.core.weights.DummyWeights}' distribution (uniform
 * in ±1/√K for matrices, 1 ± 0.1 for norms), made for GPU benchmarks at 8B scale in a second
 * instead of a minute: values are generated in parallel, and the layers share host data by role
 * ("model.layers.7.mlp.up_proj.weight" has the same values as layer 0's). Each layer still gets
 * its own device copy, so the device reads exactly what a real model of the shape reads.
 */
final class SharedDummyWeights implements Weights {
    private final Arena arena = Arena.ofShared();
    private final long seed;
    private final Map<String, MemorySegment> byRole = new HashMap<>();
    private final Map<String, WeightTensor> made = new LinkedHashMap<>();

    SharedDummyWeights(long seed) {
        this.seed = seed;
    }

    @Override
    public Optional<WeightTensor> find(String name) {
        return Optional.ofNullable(made.get(name));
    }

    @Override
    public synchronized WeightTensor require(String name, long... shape) {
        return made.computeIfAbsent(name, n -> {
            String role = n.replaceAll("^model\\.layers\\.\\d+\\.", "model.layers.*.") + java.util.Arrays.toString(shape);
            MemorySegment data = byRole.computeIfAbsent(role, r -> make(r, shape));
            return new WeightTensor(n, DType.BF16, shape.clone(), data, null);
        });
    }

    private MemorySegment make(String role, long[] shape) {
        long count = 1;
        for (long d : shape) {
            count *= d;
        }
        final long numel = count;
        MemorySegment seg = arena.allocate(numel * 2, 64);
        boolean isNorm = shape.length == 1;
        double amp = isNorm ? 0.1 : 1.0 / Math.sqrt(Math.max(1, shape[shape.length - 1]));
        double offset = isNorm ? 1.0 : 0.0;
        long chunk = 1L << 20;
        int chunks = (int) ((numel + chunk - 1) / chunk);
        long base = seed ^ role.hashCode();
        IntStream.range(0, chunks).parallel().forEach(c -> {
            SplittableRandom rnd = new SplittableRandom(base * 31 + c);
            long end = Math.min(numel, (c + 1) * chunk);
            for (long i = c * chunk; i < end; i++) {
                float v = (float) ((rnd.nextDouble() * 2 - 1) * amp + offset);
                seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, DType.floatToBf16(v));
            }
        });
        return seg;
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
