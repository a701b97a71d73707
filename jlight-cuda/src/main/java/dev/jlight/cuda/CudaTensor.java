package dev.jlight.cuda;

import dev.jlight.core.JLightException;
import dev.jlight.core.backend.Tensor;
import dev.jlight.core.weights.DType;
import java.lang.ref.Cleaner;
import java.util.Arrays;

/**
 * A tensor in device memory: a 2-D (or 1-D) strided view of a {@link Storage} block of the
 * arena. Views share the storage; the block goes back to the arena when no tensor refers to the
 * storage any more (a Cleaner), or at once when it is released explicitly.
 */
final class CudaTensor implements Tensor {
    private static final Cleaner CLEANER = Cleaner.create();

    /** An arena block and the tensors that view it. */
    static final class Storage {
        final DeviceArena.Block block;
        final String what;
        private final Cleaner.Cleanable cleanable;
        private volatile boolean released;

        Storage(DeviceArena arena, DeviceArena.Block block, String what) {
            this.block = block;
            this.what = what;
            // the action must not capture this Storage, or it would never become unreachable
            this.cleanable = CLEANER.register(this, () -> arena.free(block));
        }

        /** Frees the block now; any later use of a tensor over it fails with a clear message. */
        void release() {
            released = true;
            cleanable.clean();
        }

        boolean released() {
            return released;
        }
    }

    private final DType dtype;
    private final long[] shape;
    private final long rowStride;
    private final long address;
    private final Storage storage;
    private final boolean ownsStorage;

    CudaTensor(DType dtype, long[] shape, long rowStride, long address, Storage storage, boolean ownsStorage) {
        this.dtype = dtype;
        this.shape = shape;
        this.rowStride = rowStride;
        this.address = address;
        this.storage = storage;
        this.ownsStorage = ownsStorage;
    }

    /** True for the tensor a block was allocated for, false for its views. */
    boolean ownsStorage() {
        return ownsStorage;
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public long rowStride() {
        return rowStride;
    }

    /** Device address of element (0, 0). */
    long ptr() {
        if (storage.released()) {
            throw new JLightException("cuda tensor " + this + " was released (" + storage.what
                    + "); concatRows consumes the weights it stacks");
        }
        return address;
    }

    Storage storage() {
        return storage;
    }

    /** Bytes from the first element to one past the last (what a dense copy moves). */
    long denseBytes() {
        return numel() * dtype.bytes();
    }

    @Override
    public String toString() {
        return dtype + Arrays.toString(shape) + (isContiguous() ? "" : " stride " + rowStride);
    }
}
