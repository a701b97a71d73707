package dev.jlight.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One reusable CUlaunchConfig for cuLaunchKernelEx carrying a single launch attribute,
 * CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION set to 1 (programmatic dependent launch: the
 * kernel may start while the previous kernel on the stream finishes; it waits for that kernel's
 * results itself, in pdl_entry() of common.cuh).
 *
 * <p>Layouts, from cuda.h on x86-64 (checked with offsetof against CUDA 13's header):
 * CUlaunchConfig is {unsigned gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY, blockDimZ,
 * sharedMemBytes; CUstream hStream; CUlaunchAttribute* attrs; unsigned numAttrs}: 56 bytes,
 * hStream at 32, attrs at 40, numAttrs at 48. CUlaunchAttribute is {CUlaunchAttributeID id;
 * char pad[4]; CUlaunchAttributeValue value (a 64-byte union)}: 72 bytes, value at 8.
 */
final class LaunchConfig {
    static final int ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION = 6;
    static final long CONFIG_BYTES = 56;
    static final long ATTRIBUTE_BYTES = 72;
    static final long OFF_STREAM = 32;
    static final long OFF_ATTRS = 40;
    static final long OFF_NUM_ATTRS = 48;
    static final long OFF_ATTR_VALUE = 8;

    final MemorySegment config;

    LaunchConfig(Arena arena, MemorySegment stream) {
        config = arena.allocate(CONFIG_BYTES, 8);
        MemorySegment attr = arena.allocate(ATTRIBUTE_BYTES, 8);
        attr.set(ValueLayout.JAVA_INT, 0, ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION);
        attr.set(ValueLayout.JAVA_INT, OFF_ATTR_VALUE, 1); // programmaticStreamSerializationAllowed
        config.set(ValueLayout.ADDRESS, OFF_STREAM, stream);
        config.set(ValueLayout.ADDRESS, OFF_ATTRS, attr);
        config.set(ValueLayout.JAVA_INT, OFF_NUM_ATTRS, 1);
    }

    /** Sets the grid (gx, gy, 1), block (bx, 1, 1) and dynamic shared memory of the next launch. */
    MemorySegment shape(int gx, int gy, int bx, int sharedBytes) {
        config.set(ValueLayout.JAVA_INT, 0, gx);
        config.set(ValueLayout.JAVA_INT, 4, gy);
        config.set(ValueLayout.JAVA_INT, 8, 1);
        config.set(ValueLayout.JAVA_INT, 12, bx);
        config.set(ValueLayout.JAVA_INT, 16, 1);
        config.set(ValueLayout.JAVA_INT, 20, 1);
        config.set(ValueLayout.JAVA_INT, 24, sharedBytes);
        return config;
    }
}
