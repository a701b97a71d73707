package dev.jlight.cuda;

import dev.jlight.core.JLightException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/** FFM plumbing shared by the driver and cuBLASLt bindings: C types and downcall lookup. */
@SuppressWarnings("restricted") // FFM downcalls are this class's job
final class Native {
    static final Linker LINKER = Linker.nativeLinker();
    /** CUresult, cublasStatus_t, int, unsigned int and C enums. */
    static final MemoryLayout INT = java.lang.foreign.ValueLayout.JAVA_INT;
    /** size_t, CUdeviceptr, uint64_t, int64_t. */
    static final MemoryLayout LONG = java.lang.foreign.ValueLayout.JAVA_LONG;
    static final MemoryLayout FLOAT = java.lang.foreign.ValueLayout.JAVA_FLOAT;
    /** Pointers and opaque handles (CUcontext, CUstream, cublasLtHandle_t, ...). */
    static final MemoryLayout PTR = java.lang.foreign.ValueLayout.ADDRESS;

    private Native() {
    }

    static MethodHandle downcall(SymbolLookup lib, String libName, String name, MemoryLayout ret,
                                 MemoryLayout... args) {
        var symbol = lib.find(name).orElseThrow(
                () -> new JLightException(libName + " has no symbol " + name + " (driver or library too old?)"));
        return LINKER.downcallHandle(symbol, FunctionDescriptor.of(ret, args));
    }

    /** A throwable from invokeExact that is not ours becomes a JLightException naming the call. */
    static RuntimeException rethrow(String call, Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new JLightException(call + ": " + t, t);
    }
}
