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
 * <p>Descriptors and the heuristic's algorithms are cached per shape, strides, output type and
 * pointer alignment (the heuristic picks kernels that rely on alignment). The heuristic's first
 * algorithm runs unless the backend has timed the others ({@link #candidates}, {@link #runCandidate})
 * and {@link #choose chosen} one.
 */
final class Matmul implements AutoCloseable {
    private record Key(long n, long t, long k, long ldw, long ldx, long ldo, int outType, int alignW, int alignX,
                       int alignO) {
    }

    /** Up to this many of the heuristic's algorithms are kept per product, for timing. */
    static final int MAX_CANDIDATES = 8;

    /** One product's operands: device addresses, row strides in elements, output type. */
    record Product(long out, int outType, long ldo, long x, long ldx, long w, long ldw, long t, long n, long k) {
    }

    private static final class Plan {
        final MemorySegment desc, aLayout, bLayout, dLayout, results;
        final int found;
        int chosen;
        boolean timed;

        Plan(MemorySegment desc, MemorySegment aLayout, MemorySegment bLayout, MemorySegment dLayout,
             MemorySegment results, int found) {
            this.desc = desc;
            this.aLayout = aLayout;
            this.bLayout = bLayout;
            this.dLayout = dLayout;
            this.results = results;
            this.found = found;
        }

        MemorySegment algo(int i) {
            return results.asSlice(i * CublasLt.HEURISTIC_RESULT_BYTES, 64);
        }
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
    private boolean useChosen = true;

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
        Product p = new Product(out, outType, ldo, x, ldx, w, ldw, t, n, k);
        Plan plan = planOf(p, what);
        launch(p, plan, useChosen ? plan.chosen : 0, what);
    }

    /** false: every product runs the heuristic's first algorithm, whatever was chosen (an A/B). */
    void setUseChosen(boolean on) {
        this.useChosen = on;
    }

    /** How many algorithms the heuristic offered for this product (1..MAX_CANDIDATES); plans it if new. */
    int candidates(Product p, String what) {
        return planOf(p, what).found;
    }

    /** Whether {@link #choose} was called for this product's plan (a timing already happened). */
    boolean timed(Product p, String what) {
        return planOf(p, what).timed;
    }

    /** Queues the product with candidate {@code i} instead of the chosen algorithm. */
    void runCandidate(Product p, int i, String what) {
        Plan plan = planOf(p, what);
        if (i < 0 || i >= plan.found) {
            throw new IllegalArgumentException("cuBLASLt candidate " + i + " of " + plan.found + " for " + what);
        }
        launch(p, plan, i, what);
    }

    /** Runs candidate {@code i} for every later product with this plan's key. */
    void choose(Product p, int i, String what) {
        Plan plan = planOf(p, what);
        if (i < 0 || i >= plan.found) {
            throw new IllegalArgumentException("cuBLASLt candidate " + i + " of " + plan.found + " for " + what);
        }
        plan.chosen = i;
        plan.timed = true;
    }

    private Plan planOf(Product p, String what) {
        int outBytes = p.outType() == CublasLt.CUDA_R_32F ? 4 : 2;
        Key key = new Key(p.n(), p.t(), p.k(), p.ldw(), p.ldx(), p.ldo(), p.outType(), alignment(p.w(), p.ldw() * 2),
                alignment(p.x(), p.ldx() * 2), alignment(p.out(), p.ldo() * outBytes));
        Plan plan = plans.get(key);
        if (plan == null) {
            plan = plan(key, what);
            plans.put(key, plan);
        }
        return plan;
    }

    private void launch(Product p, Plan plan, int algo, String what) {
        lt.matmul(handle, plan.desc, alpha, MemorySegment.ofAddress(p.w()), plan.aLayout, MemorySegment.ofAddress(p.x()),
                plan.bLayout, beta, MemorySegment.ofAddress(p.out()), plan.dLayout, MemorySegment.ofAddress(p.out()),
                plan.dLayout, plan.algo(algo), MemorySegment.ofAddress(workspace), workspaceBytes, stream, what);
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
            MemorySegment results = arena.allocate(CublasLt.HEURISTIC_RESULT_BYTES * MAX_CANDIDATES, 8);
            int found = lt.algoGetHeuristic(handle, desc, a, b, d, d, pref, results, what);
            if (found < 1) {
                throw new JLightException("cuBLASLt has no algorithm for " + what);
            }
            return new Plan(desc, a, b, d, results, Math.min(found, MAX_CANDIDATES));
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
            lt.matrixLayoutDestroy(p.aLayout);
            lt.matrixLayoutDestroy(p.bLayout);
            lt.matrixLayoutDestroy(p.dLayout);
            lt.matmulDescDestroy(p.desc);
        }
        plans.clear();
        lt.destroy(handle);
        arena.close();
    }
}
