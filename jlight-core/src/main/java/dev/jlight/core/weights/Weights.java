package dev.jlight.core.weights;

import java.util.Optional;
import java.util.Set;

/**
 * Where a model's named weights come from: a folder of safetensors files, or random values of
 * the right shapes ({@code --load-format dummy}) for benchmarks at real model sizes.
 */
public interface Weights extends AutoCloseable {

    /** The tensor of that name, if present. */
    Optional<WeightTensor> find(String name);

    /**
     * The tensor of that name, checked against the shape the architecture expects; a missing
     * tensor or a wrong shape is a JLightException naming the tensor, its file and both shapes.
     */
    WeightTensor require(String name, long... expectedShape);

    Set<String> names();

    /** Bytes of all tensors (for load progress and the memory report). */
    long totalBytes();

    @Override
    void close();
}
