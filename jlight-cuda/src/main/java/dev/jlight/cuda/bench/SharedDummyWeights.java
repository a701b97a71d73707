package dev.jlight.cuda.bench;

import dev.jlight.core.weights.DType;
import dev.jlight.core.weights.DummyWeights;
import dev.jlight.core.weights.WeightTensor;
import dev.jlight.core.weights.Weights;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Random bf16 weights with {@link dev.jlight.core.weights.DummyWeights}' distribution (uniform
 * in ±1/√K for matrices, 1 ± 0.1 for norms), made for GPU benchmarks at 8B scale in a second
 * instead of a minute: the layers share host data by role
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
        long numel = 1;
        for (long d : shape) {
            numel *= d;
        }
        MemorySegment seg = arena.allocate(numel * 2, 64);
        DummyWeights.fill(seg, DType.BF16, shape, seed ^ role.hashCode());
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
