package dev.jlight.cuda;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

/**
 * One forward step captured as a CUDA graph: the device work the backend was asked for during
 * the capture (kernel launches and cuBLASLt matmuls, with every argument), and the instantiated
 * graph. A replay is only launched when a later step asks for exactly the same work, op by op
 * (same kernels, grids and arguments, pointers included); see {@link CudaBackend} and
 * {@link CudaGraphRunner}.
 */
final class CudaGraph {
    static final String MATMUL = "cublasLtMatmul";

    /** One unit of device work as issued: a kernel launch, or a cuBLASLt matmul (name MATMUL). */
    record Op(String name, int gx, int gy, int bx, int smem, Object[] args, Supplier<String> what) {
        boolean sameAs(Op o) {
            return gx == o.gx && gy == o.gy && bx == o.bx && smem == o.smem && name.equals(o.name)
                    && Arrays.equals(args, o.args);
        }

        String describe() {
            return name + "<<<(" + gx + "," + gy + ")," + bx + "," + smem + ">>> for " + what.get();
        }
    }

    /** The context bound the step's kernels were sized for (split counts of attention). */
    final int maxContext;
    final List<Op> ops = new ArrayList<>();
    /** The step's attention metadata pointers at capture (a replay is launched early only where they are the same). */
    long[] metaPointers;
    MemorySegment graph;
    MemorySegment exec;
    /**
     * Set when the step overwrites one of its own inputs (an overlapped step reads the previous
     * step's ids from the buffer its own sample then writes): rerunning it eagerly after the graph
     * ran would read the new values, so a replay is launched only once every op matched, never at
     * the first op (see CudaBackend.dispatch).
     */
    boolean readsWhatItWrites;
    /** Set when a replay found different work than was captured; the graph is not used again. */
    boolean stale;
    String staleReason;
    long launches;

    CudaGraph(int maxContext) {
        this.maxContext = maxContext;
    }

    boolean instantiated() {
        return exec != null;
    }

    @Override
    public String toString() {
        return "graph of " + ops.size() + " ops (context bound " + maxContext + ", " + launches + " launches"
                + (stale ? ", stale: " + staleReason : "") + ")";
    }
}
