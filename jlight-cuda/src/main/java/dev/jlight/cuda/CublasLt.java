package dev.jlight.cuda;

import static dev.jlight.cuda.Native.INT;
import static dev.jlight.cuda.Native.LONG;
import static dev.jlight.cuda.Native.PTR;
import static dev.jlight.cuda.Native.rethrow;

import dev.jlight.core.JLightException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * FFM bindings to cuBLASLt (libcublasLt.so.13), only the calls the matmul uses. Enum values are
 * cublasLt.h's and library_types.h's; each call is checked, a non-zero cublasStatus_t becoming a
 * {@link CudaException} that names the call.
 */
@SuppressWarnings("restricted") // FFM downcalls are this class's job
public final class CublasLt {
    static final String LIB = "libcublasLt.so.13";

    // cudaDataType_t (library_types.h)
    public static final int CUDA_R_32F = 0;
    public static final int CUDA_R_16F = 2;
    public static final int CUDA_R_16BF = 14;
    // cublasComputeType_t
    public static final int CUBLAS_COMPUTE_32F = 68;
    // cublasOperation_t
    public static final int CUBLAS_OP_N = 0;
    public static final int CUBLAS_OP_T = 1;
    // cublasLtMatmulDescAttributes_t
    static final int MATMUL_DESC_TRANSA = 3;
    static final int MATMUL_DESC_TRANSB = 4;
    // cublasLtMatmulPreferenceAttributes_t
    static final int PREF_MAX_WORKSPACE_BYTES = 1; // uint64_t
    static final int PREF_MIN_ALIGNMENT_A_BYTES = 5; // uint32_t
    static final int PREF_MIN_ALIGNMENT_B_BYTES = 6;
    static final int PREF_MIN_ALIGNMENT_C_BYTES = 7;
    static final int PREF_MIN_ALIGNMENT_D_BYTES = 8;
    /**
     * cublasLtMatmulHeuristicResult_t: cublasLtMatmulAlgo_t algo (uint64_t[8]); size_t
     * workspaceSize; cublasStatus_t state; float wavesCount; int reserved[4] — 96 bytes.
     */
    static final long HEURISTIC_RESULT_BYTES = 96;
    static final long HEURISTIC_WORKSPACE_OFFSET = 64;
    static final long HEURISTIC_STATE_OFFSET = 72;

    private static final String[] STATUS = new String[17];

    static {
        STATUS[0] = "CUBLAS_STATUS_SUCCESS";
        STATUS[1] = "CUBLAS_STATUS_NOT_INITIALIZED";
        STATUS[3] = "CUBLAS_STATUS_ALLOC_FAILED";
        STATUS[7] = "CUBLAS_STATUS_INVALID_VALUE";
        STATUS[8] = "CUBLAS_STATUS_ARCH_MISMATCH";
        STATUS[11] = "CUBLAS_STATUS_MAPPING_ERROR";
        STATUS[13] = "CUBLAS_STATUS_EXECUTION_FAILED";
        STATUS[14] = "CUBLAS_STATUS_INTERNAL_ERROR";
        STATUS[15] = "CUBLAS_STATUS_NOT_SUPPORTED";
        STATUS[16] = "CUBLAS_STATUS_LICENSE_ERROR";
    }

    private final MethodHandle create, destroy, getVersion, descCreate, descSetAttribute, descDestroy, layoutCreate,
            layoutDestroy, prefCreate, prefSetAttribute, prefDestroy, algoGetHeuristic, matmul;

    private CublasLt(SymbolLookup lib) {
        create = fn(lib, "cublasLtCreate", INT, PTR);
        destroy = fn(lib, "cublasLtDestroy", INT, PTR);
        getVersion = fn(lib, "cublasLtGetVersion", LONG);
        descCreate = fn(lib, "cublasLtMatmulDescCreate", INT, PTR, INT, INT);
        descSetAttribute = fn(lib, "cublasLtMatmulDescSetAttribute", INT, PTR, INT, PTR, LONG);
        descDestroy = fn(lib, "cublasLtMatmulDescDestroy", INT, PTR);
        layoutCreate = fn(lib, "cublasLtMatrixLayoutCreate", INT, PTR, INT, LONG, LONG, LONG);
        layoutDestroy = fn(lib, "cublasLtMatrixLayoutDestroy", INT, PTR);
        prefCreate = fn(lib, "cublasLtMatmulPreferenceCreate", INT, PTR);
        prefSetAttribute = fn(lib, "cublasLtMatmulPreferenceSetAttribute", INT, PTR, INT, PTR, LONG);
        prefDestroy = fn(lib, "cublasLtMatmulPreferenceDestroy", INT, PTR);
        algoGetHeuristic = fn(lib, "cublasLtMatmulAlgoGetHeuristic", INT, PTR, PTR, PTR, PTR, PTR, PTR, PTR, INT,
                PTR, PTR);
        matmul = fn(lib, "cublasLtMatmul", INT, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR,
                PTR, LONG, PTR);
    }

    private static MethodHandle fn(SymbolLookup lib, String name, MemoryLayout ret, MemoryLayout... args) {
        return Native.downcall(lib, LIB, name, ret, args);
    }

    /** Loads the library (after the driver: it needs a context to do anything useful). */
    public static CublasLt load() {
        SymbolLookup lib;
        try {
            lib = SymbolLookup.libraryLookup(LIB, Arena.global());
        } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
            throw new JLightException("no cuBLASLt (" + LIB + " not found; it ships with the CUDA 13 toolkit"
                    + " or the nvidia-cublas wheel)");
        }
        return new CublasLt(lib);
    }

    static String statusName(int status) {
        return status >= 0 && status < STATUS.length && STATUS[status] != null ? STATUS[status]
                : "cublasStatus_t " + status;
    }

    static void check(int status, String call) {
        if (status != 0) {
            throw new CudaException(call, status, statusName(status), null);
        }
    }

    public long version() {
        try {
            return (long) getVersion.invokeExact();
        } catch (Throwable t) {
            throw rethrow("cublasLtGetVersion", t);
        }
    }

    public MemorySegment create() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment h = a.allocate(ValueLayout.ADDRESS);
            check((int) create.invokeExact(h), "cublasLtCreate");
            return h.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow("cublasLtCreate", t);
        }
    }

    public void destroy(MemorySegment handle) {
        try {
            check((int) destroy.invokeExact(handle), "cublasLtDestroy");
        } catch (Throwable t) {
            throw rethrow("cublasLtDestroy", t);
        }
    }

    public MemorySegment matmulDescCreate(int computeType, int scaleType) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment d = a.allocate(ValueLayout.ADDRESS);
            check((int) descCreate.invokeExact(d, computeType, scaleType), "cublasLtMatmulDescCreate");
            return d.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow("cublasLtMatmulDescCreate", t);
        }
    }

    /** Sets an int32-valued attribute (transa/transb are cublasOperation_t, a 4-byte enum). */
    public void matmulDescSetInt(MemorySegment desc, int attribute, int value) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocateFrom(ValueLayout.JAVA_INT, value);
            check((int) descSetAttribute.invokeExact(desc, attribute, v, 4L),
                    "cublasLtMatmulDescSetAttribute(" + attribute + ")");
        } catch (Throwable t) {
            throw rethrow("cublasLtMatmulDescSetAttribute", t);
        }
    }

    public void matmulDescDestroy(MemorySegment desc) {
        try {
            check((int) descDestroy.invokeExact(desc), "cublasLtMatmulDescDestroy");
        } catch (Throwable t) {
            throw rethrow("cublasLtMatmulDescDestroy", t);
        }
    }

    /** A column-major layout of {@code rows × cols} with leading dimension {@code ld} (elements). */
    public MemorySegment matrixLayoutCreate(int dataType, long rows, long cols, long ld) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment l = a.allocate(ValueLayout.ADDRESS);
            check((int) layoutCreate.invokeExact(l, dataType, rows, cols, ld),
                    "cublasLtMatrixLayoutCreate(" + rows + "x" + cols + ", ld " + ld + ")");
            return l.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow("cublasLtMatrixLayoutCreate", t);
        }
    }

    public void matrixLayoutDestroy(MemorySegment layout) {
        try {
            check((int) layoutDestroy.invokeExact(layout), "cublasLtMatrixLayoutDestroy");
        } catch (Throwable t) {
            throw rethrow("cublasLtMatrixLayoutDestroy", t);
        }
    }

    public MemorySegment preferenceCreate() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ValueLayout.ADDRESS);
            check((int) prefCreate.invokeExact(p), "cublasLtMatmulPreferenceCreate");
            return p.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow("cublasLtMatmulPreferenceCreate", t);
        }
    }

    public void preferenceSetLong(MemorySegment pref, int attribute, long value) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocateFrom(ValueLayout.JAVA_LONG, value);
            check((int) prefSetAttribute.invokeExact(pref, attribute, v, 8L),
                    "cublasLtMatmulPreferenceSetAttribute(" + attribute + ")");
        } catch (Throwable t) {
            throw rethrow("cublasLtMatmulPreferenceSetAttribute", t);
        }
    }

    public void preferenceSetInt(MemorySegment pref, int attribute, int value) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocateFrom(ValueLayout.JAVA_INT, value);
            check((int) prefSetAttribute.invokeExact(pref, attribute, v, 4L),
                    "cublasLtMatmulPreferenceSetAttribute(" + attribute + ")");
        } catch (Throwable t) {
            throw rethrow("cublasLtMatmulPreferenceSetAttribute", t);
        }
    }

    public void preferenceDestroy(MemorySegment pref) {
        try {
            check((int) prefDestroy.invokeExact(pref), "cublasLtMatmulPreferenceDestroy");
        } catch (Throwable t) {
            throw rethrow("cublasLtMatmulPreferenceDestroy", t);
        }
    }

    /**
     * Asks the heuristic for up to {@code results.byteSize() / 96} algorithms; returns how many it
     * wrote into {@code results} (an array of cublasLtMatmulHeuristicResult_t).
     */
    public int algoGetHeuristic(MemorySegment handle, MemorySegment desc, MemorySegment a, MemorySegment b,
                                MemorySegment c, MemorySegment d, MemorySegment pref, MemorySegment results,
                                String what) {
        int requested = (int) (results.byteSize() / HEURISTIC_RESULT_BYTES);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(ValueLayout.JAVA_INT);
            check((int) algoGetHeuristic.invokeExact(handle, desc, a, b, c, d, pref, requested, results, count),
                    "cublasLtMatmulAlgoGetHeuristic(" + what + ")");
            return count.get(ValueLayout.JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow("cublasLtMatmulAlgoGetHeuristic", t);
        }
    }

    /** D = alpha·op(A)·op(B) + beta·C on {@code stream}; alpha/beta point to host floats. */
    public void matmul(MemorySegment handle, MemorySegment desc, MemorySegment alpha, MemorySegment a,
                       MemorySegment aLayout, MemorySegment b, MemorySegment bLayout, MemorySegment beta,
                       MemorySegment c, MemorySegment cLayout, MemorySegment d, MemorySegment dLayout,
                       MemorySegment algo, MemorySegment workspace, long workspaceBytes, MemorySegment stream,
                       String what) {
        int r;
        try {
            r = (int) matmul.invokeExact(handle, desc, alpha, a, aLayout, b, bLayout, beta, c, cLayout, d, dLayout,
                    algo, workspace, workspaceBytes, stream);
        } catch (Throwable t) {
            throw rethrow("cublasLtMatmul", t);
        }
        check(r, "cublasLtMatmul(" + what + ")");
    }
}
