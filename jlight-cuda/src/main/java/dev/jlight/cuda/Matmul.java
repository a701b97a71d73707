package dev.jlight.cuda;

import dev.jlight.core.JLightException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;

/**
 * out[T,N] = x[T,K] · w[N,K]ᵀ through cuBLASLt, bf16 operands, f32 accumulation, bf16 or f32
 * output. Row-major tensors are column-major transposes, so the call cuBLASLt sees is
 * outᵀ[N,T] = op(A)·B with A = w stored column-major as [K,N] (ld = w's row stride) and
 * transa = T, B = xᵀ stored as [K,T] (ld = x's row stride), D = outᵀ [N,T] (ld = out's row
 * stride): strided views of x and out cost nothing.
 *
 * <p>Descriptors and the heuristic's algorithm are cached per shape, strides, output type and
 * pointer alignment (the heuristic picks kernels that rely on alignment).
 */
final class Matmul implements AutoCloseable {
    private record Key(long n, long t, long k, long ldw, long ldx, long ldo, int outType, int alignW, int alignX,
                       int alignO) {
    }

    private record Plan(MemorySegment desc, MemorySegment aLayout, MemorySegment bLayout, MemorySegment dLayout,
                        MemorySegment algo) {
    }

    private final CublasLt lt;
    private final MemorySegment handle;
    private final MemorySegment stream;
    private final long workspace;
    private final long workspaceBytes;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment alpha;
    private final MemorySegment beta;
    private final Map<Key, Plan> plans = new HashMap<>();

    Matmul(CublasLt lt, MemorySegment stream, long workspace, long workspaceBytes) {
        this.lt = lt;
        this.handle = lt.create();
        this.stream = stream;
        this.workspace = workspace;
        this.workspaceBytes = workspaceBytes;
        this.alpha = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 1.0f);
        this.beta = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 0.0f);
    }

    /**
     * Queues the product. Addresses are device pointers; row strides in elements. x and w are
     * bf16; out is bf16 ({@link CublasLt#CUDA_R_16BF}) or f32 ({@link CublasLt#CUDA_R_32F}).
     */
    void run(long out, int outType, long ldo, long x, long ldx, long w, long ldw, long t, long n, long k,
             String what) {
        int outBytes = outType == CublasLt.CUDA_R_32F ? 4 : 2;
        Key key = new Key(n, t, k, ldw, ldx, ldo, outType, alignment(w, ldw * 2), alignment(x, ldx * 2),
                alignment(out, ldo * outBytes));
        Plan plan = plans.get(key);
        if (plan == null) {
            plan = plan(key, what);
            plans.put(key, plan);
        }
        lt.matmul(handle, plan.desc(), alpha, MemorySegment.ofAddress(w), plan.aLayout(), MemorySegment.ofAddress(x),
                plan.bLayout(), beta, MemorySegment.ofAddress(out), plan.dLayout(), MemorySegment.ofAddress(out),
                plan.dLayout(), plan.algo(), MemorySegment.ofAddress(workspace), workspaceBytes, stream, what);
    }

    /** The largest power of two (at most 256) that divides the address and every row's start. */
    static int alignment(long address, long rowBytes) {
        long a = Long.lowestOneBit(address | rowBytes | 256);
        return (int) Math.min(a, 256);
    }

    private Plan plan(Key key, String what) {
        MemorySegment desc = lt.matmulDescCreate(CublasLt.CUBLAS_COMPUTE_32F, CublasLt.CUDA_R_32F);
        lt.matmulDescSetInt(desc, CublasLt.MATMUL_DESC_TRANSA, CublasLt.CUBLAS_OP_T);
        lt.matmulDescSetInt(desc, CublasLt.MATMUL_DESC_TRANSB, CublasLt.CUBLAS_OP_N);
        MemorySegment a = lt.matrixLayoutCreate(CublasLt.CUDA_R_16BF, key.k(), key.n(), key.ldw());
        MemorySegment b = lt.matrixLayoutCreate(CublasLt.CUDA_R_16BF, key.k(), key.t(), key.ldx());
        MemorySegment d = lt.matrixLayoutCreate(key.outType(), key.n(), key.t(), key.ldo());
        MemorySegment pref = lt.preferenceCreate();
        try {
            lt.preferenceSetLong(pref, CublasLt.PREF_MAX_WORKSPACE_BYTES, workspaceBytes);
            lt.preferenceSetInt(pref, CublasLt.PREF_MIN_ALIGNMENT_A_BYTES, key.alignW());
            lt.preferenceSetInt(pref, CublasLt.PREF_MIN_ALIGNMENT_B_BYTES, key.alignX());
            lt.preferenceSetInt(pref, CublasLt.PREF_MIN_ALIGNMENT_C_BYTES, key.alignO());
            lt.preferenceSetInt(pref, CublasLt.PREF_MIN_ALIGNMENT_D_BYTES, key.alignO());
            MemorySegment results = arena.allocate(CublasLt.HEURISTIC_RESULT_BYTES, 8);
            int found = lt.algoGetHeuristic(handle, desc, a, b, d, d, pref, results, what);
            if (found < 1) {
                throw new JLightException("cuBLASLt has no algorithm for " + what);
            }
            return new Plan(desc, a, b, d, results.asSlice(0, 64));
        } finally {
            lt.preferenceDestroy(pref);
        }
    }

    /** Plans cached so far (one per distinct shape seen). */
    int planCount() {
        return plans.size();
    }

    @Override
    public void close() {
        for (Plan p : plans.values()) {
            lt.matrixLayoutDestroy(p.aLayout());
            lt.matrixLayoutDestroy(p.bLayout());
            lt.matrixLayoutDestroy(p.dLayout());
            lt.matmulDescDestroy(p.desc());
        }
        plans.clear();
        lt.destroy(handle);
        arena.close();
    }
}
