package dev.jlight.core.weights;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * One named tensor of a model folder: its bytes are a slice of a memory-mapped safetensors file
 * (or of a native buffer for dummy weights), never a copy in a Java array.
 */
public record WeightTensor(String name, DType dtype, long[] shape, MemorySegment data, Path file) {

    public long numel() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public String describe() {
        return name + " " + dtype + Arrays.toString(shape) + (file == null ? "" : " in " + file.getFileName());
    }
}
