package dev.jlight.core.backend;

import dev.jlight.core.weights.DType;

/**
 * A tensor owned by one {@link Backend}: its memory lives wherever that backend keeps memory (a
 * mapped file or native heap for the CPU, device memory for CUDA). Only the backend that made it
 * reads or writes its elements; the model sees shapes and dtypes.
 *
 * <p>Tensors are row-major. A 2-D tensor may be a strided view ({@link #rowStride()} elements
 * between the starts of consecutive rows), which is how the fused QKV output is split into Q, K
 * and V without copies, and how per-step buffers sized for the largest batch are used for a
 * smaller one.
 */
public interface Tensor {
    DType dtype();

    /** Logical shape, outermost first. Never modified by callers. */
    long[] shape();

    /** Elements between the first elements of two consecutive rows (== cols for a dense tensor). */
    long rowStride();

    default int rank() {
        return shape().length;
    }

    /** Rows when viewed as 2-D: product of all dims but the last. */
    default long rows() {
        long[] s = shape();
        long r = 1;
        for (int i = 0; i < s.length - 1; i++) {
            r *= s[i];
        }
        return r;
    }

    /** The innermost dimension. */
    default long cols() {
        long[] s = shape();
        return s[s.length - 1];
    }

    default long numel() {
        long n = 1;
        for (long d : shape()) {
            n *= d;
        }
        return n;
    }

    default boolean isContiguous() {
        return rowStride() == cols();
    }

    static String shapeString(long[] shape) {
        return java.util.Arrays.toString(shape);
    }
}
