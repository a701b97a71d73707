package dev.jlight.server;

import dev.jlight.core.JLightException;
import dev.jlight.core.backend.Backend;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.model.Model;
import java.lang.reflect.InvocationTargetException;

/**
 * Opens {@code dev.jlight.cuda.CudaBackend} by name, so that jlight-cuda is needed only at run
 * time and only when {@code --device cuda} asks for it: CPU runs never load a CUDA class.
 */
final class CudaSupport {
    private static final String BACKEND = "dev.jlight.cuda.CudaBackend";

    private CudaSupport() {
    }

    /** The CUDA backend on GPU 0 with vLLM's --gpu-memory-utilization meaning. */
    static Backend open(double gpuMemoryUtilization) {
        Class<?> backend;
        try {
            backend = Class.forName(BACKEND);
        } catch (ClassNotFoundException e) {
            throw new JLightException("--device cuda: the CUDA backend (jlight-cuda) is not on the class path");
        }
        Object availability = call(backend, null, "probe");
        if (!(Boolean) call(availability.getClass(), availability, "available")) {
            throw new JLightException("--device cuda: CUDA is not usable here: " + call(availability.getClass(),
                    availability, "reason"));
        }
        try {
            Class<?> options = Class.forName(BACKEND + "$Options");
            Object opts = options.getConstructor(int.class, double.class, long.class)
                    .newInstance(0, gpuMemoryUtilization, 0L);
            return (Backend) backend.getConstructor(options).newInstance(opts);
        } catch (InvocationTargetException e) {
            throw rethrow(e);
        } catch (ReflectiveOperationException e) {
            throw new JLightException("--device cuda: jlight-cuda does not match this server: " + e, e);
        }
    }

    /**
     * The model wrapped by {@code dev.jlight.cuda.CudaGraphRunner}: decode steps replayed from
     * CUDA graphs (sampling included, so a graphed step downloads only the token ids). Off with
     * -Djlight.cuda.graphs=false; the runner itself falls back to eager steps when a graph fails.
     */
    static Model graphed(Model model, KvCache kv, int maxModelLen) {
        try {
            Class<?> runner = Class.forName("dev.jlight.cuda.CudaGraphRunner");
            return (Model) runner.getConstructor(Model.class, KvCache.class, int.class).newInstance(model, kv,
                    maxModelLen);
        } catch (InvocationTargetException e) {
            throw rethrow(e);
        } catch (ReflectiveOperationException e) {
            throw new JLightException("--device cuda: jlight-cuda does not match this server: " + e, e);
        }
    }

    /** Device bytes a KV cache could still take. */
    static long freeDeviceBytes(Backend cuda) {
        return (Long) call(cuda.getClass(), cuda, "freeDeviceBytes");
    }

    /** "NVIDIA H100 80GB HBM3 (sm_90, ...)". */
    static String describe(Backend cuda) {
        return String.valueOf(call(cuda.getClass(), cuda, "describe"));
    }

    private static Object call(Class<?> type, Object target, String method) {
        try {
            return type.getMethod(method).invoke(target);
        } catch (InvocationTargetException e) {
            throw rethrow(e);
        } catch (ReflectiveOperationException e) {
            throw new JLightException("--device cuda: jlight-cuda does not match this server: " + e, e);
        }
    }

    private static RuntimeException rethrow(InvocationTargetException e) {
        Throwable cause = e.getCause();
        if (cause instanceof RuntimeException r) {
            return r;
        }
        return new JLightException("--device cuda: " + cause, cause);
    }
}
