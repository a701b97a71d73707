package dev.jlight.cpu;

import dev.jlight.core.backend.Tensor;
import dev.jlight.core.weights.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A CPU tensor: a {@link MemorySegment} (native memory, or a slice of a mapped weight file) that
 * starts at element [0, 0], a dtype, a logical shape and a row stride in elements. Views made by
 * {@link CpuBackend#sliceRows} / {@link CpuBackend#sliceCols} share the segment of their base.
 *
 * <p>A tensor made by {@link CpuBackend#concatRows} has no segment of its own: it keeps its parts
 * (each a [rows_i, cols] tensor) and {@code matmul} walks their row ranges, so mapped weights are
 * never copied to fuse QKV or gate/up. Only matmul, slicing and download accept such a tensor.
 */
public final class CpuTensor implements Tensor {
    private final MemorySegment segment;
    private final DType dtype;
    private final long[] shape;
    private final long rowStride;
    private final CpuTensor[] parts;

    CpuTensor(MemorySegment segment, DType dtype, long[] shape, long rowStride) {
        this.segment = segment;
        this.dtype = dtype;
        this.shape = shape;
        this.rowStride = rowStride;
        this.parts = null;
    }

    private CpuTensor(CpuTensor[] parts, long[] shape) {
        this.segment = null;
        this.dtype = parts[0].dtype;
        this.shape = shape;
        this.rowStride = shape[1];
        this.parts = parts;
    }

    static CpuTensor concat(CpuTensor[] parts, long rows, long cols) {
        return new CpuTensor(parts.clone(), new long[] {rows, cols});
    }

    /** Bytes a (possibly strided) view of {@code rows × cols} with this row stride spans. */
    static long spanBytes(long rows, long cols, long rowStride, DType dtype) {
        return rows == 0 ? 0 : ((rows - 1) * rowStride + cols) * dtype.bytes();
    }

    // ---- helpers for tests and tools (memory from an automatic arena, freed by the GC) --------

    /** A dense F32 tensor holding a copy of {@code data}; shape defaults to [data.length]. */
    public static CpuTensor of(float[] data, long... shape) {
        long[] s = shapeFor(data.length, shape);
        MemorySegment seg = Arena.ofAuto().allocate((long) data.length * 4, 64);
        MemorySegment.copy(data, 0, seg, ValueLayout.JAVA_FLOAT, 0, data.length);
        return new CpuTensor(seg, DType.F32, s, s[s.length - 1]);
    }

    /** A dense I32 tensor holding a copy of {@code data}; shape defaults to [data.length]. */
    public static CpuTensor of(int[] data, long... shape) {
        long[] s = shapeFor(data.length, shape);
        MemorySegment seg = Arena.ofAuto().allocate((long) data.length * 4, 64);
        MemorySegment.copy(data, 0, seg, ValueLayout.JAVA_INT, 0, data.length);
        return new CpuTensor(seg, DType.I32, s, s[s.length - 1]);
    }

    /** A dense tensor of a float dtype (F32, BF16, F16) holding {@code data} rounded to it. */
    public static CpuTensor of(DType dtype, float[] data, long... shape) {
        long[] s = shapeFor(data.length, shape);
        MemorySegment seg = Arena.ofAuto().allocate((long) data.length * dtype.bytes(), 64);
        for (int i = 0; i < data.length; i++) {
            Vec.store(dtype, seg, i, data[i]);
        }
        return new CpuTensor(seg, dtype, s, s[s.length - 1]);
    }

    private static long[] shapeFor(int length, long[] shape) {
        long[] s = shape.length == 0 ? new long[] {length} : shape.clone();
        long n = 1;
        for (long d : s) {
            n *= d;
        }
        if (n != length) {
            throw new IllegalArgumentException("tensor of " + length + " elements cannot have shape " + Arrays.toString(s));
        }
        return s;
    }

    /** The elements in row-major order, converted to float (any float dtype; strided views and concats too). */
    public float[] toFloatArray() {
        long r = rows();
        long c = cols();
        float[] out = new float[Math.toIntExact(r * c)];
        if (dtype == DType.I32 || dtype == DType.I8) {
            throw new IllegalArgumentException("toFloatArray: tensor is " + dtype);
        }
        int i = 0;
        for (long row = 0; row < r; row++) {
            for (long col = 0; col < c; col++) {
                out[i++] = getFloat(row, col);
            }
        }
        return out;
    }

    /** The elements of an I32 tensor in row-major order. */
    public int[] toIntArray() {
        if (dtype != DType.I32) {
            throw new IllegalArgumentException("toIntArray: tensor is " + dtype);
        }
        long r = rows();
        long c = cols();
        int[] out = new int[Math.toIntExact(r * c)];
        int i = 0;
        for (long row = 0; row < r; row++) {
            for (long col = 0; col < c; col++) {
                out[i++] = segment.get(ValueLayout.JAVA_INT_UNALIGNED, 4 * (row * rowStride + col));
            }
        }
        return out;
    }

    /** One element as float (slow; for tests and tools). */
    public float getFloat(long row, long col) {
        if (parts != null) {
            for (CpuTensor p : parts) {
                if (row < p.rows()) {
                    return p.getFloat(row, col);
                }
                row -= p.rows();
            }
            throw new IndexOutOfBoundsException("row " + row);
        }
        return Vec.load(dtype, segment, row * rowStride + col);
    }

    /** Sets one element (rounded to the dtype; slow; for tests and tools). */
    public void setFloat(long row, long col, float v) {
        requireDense("setFloat");
        Vec.store(dtype, segment, row * rowStride + col, v);
    }

    // ---- Tensor ---------------------------------------------------------------------------------

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public long[] shape() {
        return shape;
    }

    @Override
    public long rowStride() {
        return rowStride;
    }

    /** The memory starting at element [0, 0]; a concatenated tensor has none. */
    public MemorySegment segment() {
        if (segment == null) {
            throw new IllegalStateException("a concatenated tensor " + Tensor.shapeString(shape) + " has no segment of its own");
        }
        return segment;
    }

    /** True for a tensor made by concatRows (it keeps its parts). */
    public boolean isConcat() {
        return parts != null;
    }

    /** The parts of a concatenated tensor (a copy of the array); a single-element array otherwise. */
    public CpuTensor[] parts() {
        return parts == null ? new CpuTensor[] {this} : parts.clone();
    }

    CpuTensor[] partsUnsafe() {
        return parts;
    }

    /** Byte offset of element (row, col). */
    long offset(long row, long col) {
        return (row * rowStride + col) * dtype.bytes();
    }

    void requireDense(String op) {
        if (parts != null) {
            throw new IllegalArgumentException(op + ": a concatenated tensor " + Tensor.shapeString(shape)
                    + " is accepted only by matmul, slicing and download");
        }
    }

    @Override
    public String toString() {
        return "CpuTensor(" + dtype + Arrays.toString(shape) + (isContiguous() ? "" : ", rowStride " + rowStride)
                + (parts != null ? ", " + parts.length + " parts" : "") + ")";
    }
}
