package dev.jlight.cuda;

import static dev.jlight.cuda.Native.INT;
import static dev.jlight.cuda.Native.LONG;
import static dev.jlight.cuda.Native.PTR;
import static dev.jlight.cuda.Native.downcall;
import static dev.jlight.cuda.Native.rethrow;

import dev.jlight.core.JLightException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * FFM bindings to the CUDA driver API (libcuda.so.1), only the calls JLight uses. Every call is
 * checked: a non-zero CUresult becomes a {@link CudaException} naming the call and the result.
 * C types: CUresult/int/unsigned → int, CUdeviceptr/size_t → long, handles → pointers.
 *
 * <p>Nothing here is loaded until {@link #get()} is called, so code that runs without a GPU
 * (CI) never touches the library except through {@link CudaBackend#probe()}.
 */
@SuppressWarnings("restricted") // FFM downcalls are this class's job
public final class CudaDriver {
    static final String LIB = "libcuda.so.1";

    // CUresult values used by name here; the rest are named by cuGetErrorName.
    static final int CUDA_ERROR_NO_DEVICE = 100;
    // CUdevice_attribute
    public static final int ATTR_MULTIPROCESSOR_COUNT = 16;
    public static final int ATTR_L2_CACHE_SIZE = 38;
    public static final int ATTR_COMPUTE_CAPABILITY_MAJOR = 75;
    public static final int ATTR_COMPUTE_CAPABILITY_MINOR = 76;
    public static final int ATTR_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
    /** CU_STREAM_NON_BLOCKING: no implicit synchronization with the legacy NULL stream. */
    static final int STREAM_NON_BLOCKING = 1;
    /** CU_STREAM_CAPTURE_MODE_RELAXED: capture does not forbid other threads' "unsafe" calls. */
    static final int CAPTURE_MODE_RELAXED = 2;

    private static final Object LOCK = new Object();
    private static volatile CudaDriver instance;
    private static volatile JLightException failure;

    private final MethodHandle cuInit, cuDriverGetVersion, cuDeviceGetCount, cuDeviceGet, cuDeviceGetName,
            cuDeviceGetAttribute, cuDevicePrimaryCtxRetain, cuCtxSetCurrent, cuCtxSynchronize, cuMemGetInfo,
            cuMemAlloc, cuMemFree, cuMemAllocHost, cuMemFreeHost, cuMemcpyHtoD, cuMemcpyDtoH, cuMemcpyHtoDAsync,
            cuMemcpyDtoHAsync, cuMemcpyDtoDAsync, cuMemsetD8Async, cuModuleLoadData, cuModuleUnload, cuModuleGetFunction,
            cuLaunchKernel, cuStreamCreate, cuStreamSynchronize, cuStreamDestroy, cuEventCreate, cuEventRecord,
            cuEventSynchronize, cuEventElapsedTime, cuEventDestroy, cuGetErrorName, cuGetErrorString;
    /** CUDA graphs (stream capture); null where the driver lacks them. */
    private final MethodHandle cuStreamBeginCapture, cuStreamEndCapture, cuGraphInstantiate, cuGraphLaunch,
            cuGraphExecDestroy, cuGraphDestroy;
    /** cuLaunchKernelEx (CUDA 11.8+), for launch attributes; null where the driver lacks it. */
    private final MethodHandle cuLaunchKernelEx;

    private CudaDriver(SymbolLookup lib) {
        cuInit = fn(lib, "cuInit", INT, INT);
        cuDriverGetVersion = fn(lib, "cuDriverGetVersion", INT, PTR);
        cuDeviceGetCount = fn(lib, "cuDeviceGetCount", INT, PTR);
        cuDeviceGet = fn(lib, "cuDeviceGet", INT, PTR, INT);
        cuDeviceGetName = fn(lib, "cuDeviceGetName", INT, PTR, INT, INT);
        cuDeviceGetAttribute = fn(lib, "cuDeviceGetAttribute", INT, PTR, INT, INT);
        cuDevicePrimaryCtxRetain = fn(lib, "cuDevicePrimaryCtxRetain", INT, PTR, INT);
        cuCtxSetCurrent = fn(lib, "cuCtxSetCurrent", INT, PTR);
        cuCtxSynchronize = fn(lib, "cuCtxSynchronize", INT);
        cuMemGetInfo = fn(lib, "cuMemGetInfo_v2", INT, PTR, PTR);
        cuMemAlloc = fn(lib, "cuMemAlloc_v2", INT, PTR, LONG);
        cuMemFree = fn(lib, "cuMemFree_v2", INT, LONG);
        cuMemAllocHost = fn(lib, "cuMemAllocHost_v2", INT, PTR, LONG);
        cuMemFreeHost = fn(lib, "cuMemFreeHost", INT, PTR);
        cuMemcpyHtoD = fn(lib, "cuMemcpyHtoD_v2", INT, LONG, PTR, LONG);
        cuMemcpyDtoH = fn(lib, "cuMemcpyDtoH_v2", INT, PTR, LONG, LONG);
        cuMemcpyHtoDAsync = fn(lib, "cuMemcpyHtoDAsync_v2", INT, LONG, PTR, LONG, PTR);
        cuMemcpyDtoHAsync = fn(lib, "cuMemcpyDtoHAsync_v2", INT, PTR, LONG, LONG, PTR);
        cuMemcpyDtoDAsync = fn(lib, "cuMemcpyDtoDAsync_v2", INT, LONG, LONG, LONG, PTR);
        cuMemsetD8Async = fn(lib, "cuMemsetD8Async", INT, LONG, ValueLayout.JAVA_BYTE, LONG, PTR);
        cuModuleLoadData = fn(lib, "cuModuleLoadData", INT, PTR, PTR);
        cuModuleUnload = fn(lib, "cuModuleUnload", INT, PTR);
        cuModuleGetFunction = fn(lib, "cuModuleGetFunction", INT, PTR, PTR, PTR);
        cuLaunchKernel = fn(lib, "cuLaunchKernel", INT, PTR, INT, INT, INT, INT, INT, INT, INT, PTR, PTR, PTR);
        cuStreamCreate = fn(lib, "cuStreamCreate", INT, PTR, INT);
        cuStreamSynchronize = fn(lib, "cuStreamSynchronize", INT, PTR);
        cuStreamDestroy = fn(lib, "cuStreamDestroy_v2", INT, PTR);
        cuEventCreate = fn(lib, "cuEventCreate", INT, PTR, INT);
        cuEventRecord = fn(lib, "cuEventRecord", INT, PTR, PTR);
        cuEventSynchronize = fn(lib, "cuEventSynchronize", INT, PTR);
        // CUDA 12.8+ drivers export the _v2 name (cuda.h maps cuEventElapsedTime to it in 13.x)
        cuEventElapsedTime = lib.find("cuEventElapsedTime_v2").isPresent()
                ? fn(lib, "cuEventElapsedTime_v2", INT, PTR, PTR, PTR)
                : fn(lib, "cuEventElapsedTime", INT, PTR, PTR, PTR);
        cuEventDestroy = fn(lib, "cuEventDestroy_v2", INT, PTR);
        cuGetErrorName = fn(lib, "cuGetErrorName", INT, INT, PTR);
        cuGetErrorString = fn(lib, "cuGetErrorString", INT, INT, PTR);
        cuStreamBeginCapture = optional(lib, "cuStreamBeginCapture_v2", INT, PTR, INT);
        cuStreamEndCapture = optional(lib, "cuStreamEndCapture", INT, PTR, PTR);
        cuGraphInstantiate = optional(lib, "cuGraphInstantiateWithFlags", INT, PTR, PTR, LONG);
        cuGraphLaunch = optional(lib, "cuGraphLaunch", INT, PTR, PTR);
        cuGraphExecDestroy = optional(lib, "cuGraphExecDestroy", INT, PTR);
        cuGraphDestroy = optional(lib, "cuGraphDestroy", INT, PTR);
        cuLaunchKernelEx = optional(lib, "cuLaunchKernelEx", INT, PTR, PTR, PTR, PTR);
    }

    private static MethodHandle optional(SymbolLookup lib, String name, java.lang.foreign.MemoryLayout ret,
                                         java.lang.foreign.MemoryLayout... args) {
        return lib.find(name).isPresent() ? fn(lib, name, ret, args) : null;
    }

    private static MethodHandle fn(SymbolLookup lib, String name, java.lang.foreign.MemoryLayout ret,
                                   java.lang.foreign.MemoryLayout... args) {
        return downcall(lib, LIB, name, ret, args);
    }

    /**
     * The driver, loaded and initialized (cuInit) once per process. Throws a JLightException
     * saying why when there is none: no library, or no GPU.
     */
    public static CudaDriver get() {
        CudaDriver d = instance;
        if (d != null) {
            return d;
        }
        synchronized (LOCK) {
            if (instance != null) {
                return instance;
            }
            if (failure != null) {
                throw new JLightException(failure.getMessage());
            }
            try {
                instance = load();
                return instance;
            } catch (JLightException e) {
                failure = e;
                throw e;
            }
        }
    }

    private static CudaDriver load() {
        SymbolLookup lib;
        try {
            lib = SymbolLookup.libraryLookup(LIB, Arena.global());
        } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
            throw new JLightException("no CUDA driver (" + LIB + " not found)");
        }
        CudaDriver d = new CudaDriver(lib);
        int r = d.rawInit();
        if (r == CUDA_ERROR_NO_DEVICE) {
            throw new JLightException("no GPU (cuInit: CUDA_ERROR_NO_DEVICE)");
        }
        d.check(r, "cuInit(0)");
        if (d.deviceCount() == 0) {
            throw new JLightException("no GPU (cuDeviceGetCount: 0 devices)");
        }
        return d;
    }

    private int rawInit() {
        try {
            return (int) cuInit.invokeExact(0);
        } catch (Throwable t) {
            throw rethrow("cuInit", t);
        }
    }

    // ---- errors ---------------------------------------------------------------------------------

    /** Throws a CudaException for a non-zero CUresult. */
    void check(int result, String call) {
        if (result != 0) {
            throw new CudaException(call, result, errorName(result), errorString(result));
        }
    }

    public String errorName(int result) {
        return errorText(cuGetErrorName, result, "CUresult " + result);
    }

    public String errorString(int result) {
        return errorText(cuGetErrorString, result, "");
    }

    private static String errorText(MethodHandle h, int result, String fallback) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ValueLayout.ADDRESS);
            int r = (int) h.invokeExact(result, p);
            MemorySegment s = p.get(ValueLayout.ADDRESS, 0);
            if (r != 0 || s.equals(MemorySegment.NULL)) {
                return fallback;
            }
            return s.reinterpret(4096).getString(0);
        } catch (Throwable t) {
            return fallback;
        }
    }

    // ---- device and context -------------------------------------------------------------------

    public int driverVersion() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            check((int) cuDriverGetVersion.invokeExact(v), "cuDriverGetVersion");
            return v.get(ValueLayout.JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow("cuDriverGetVersion", t);
        }
    }

    public int deviceCount() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            check((int) cuDeviceGetCount.invokeExact(v), "cuDeviceGetCount");
            return v.get(ValueLayout.JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow("cuDeviceGetCount", t);
        }
    }

    /** CUdevice of an ordinal. */
    public int device(int ordinal) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            check((int) cuDeviceGet.invokeExact(v, ordinal), "cuDeviceGet(" + ordinal + ")");
            return v.get(ValueLayout.JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow("cuDeviceGet", t);
        }
    }

    public String deviceName(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(256);
            check((int) cuDeviceGetName.invokeExact(v, 256, device), "cuDeviceGetName");
            return v.getString(0);
        } catch (Throwable t) {
            throw rethrow("cuDeviceGetName", t);
        }
    }

    public int deviceAttribute(int attribute, int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            check((int) cuDeviceGetAttribute.invokeExact(v, attribute, device),
                    "cuDeviceGetAttribute(" + attribute + ")");
            return v.get(ValueLayout.JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow("cuDeviceGetAttribute", t);
        }
    }

    /**
     * The device's primary context (shared with cuBLASLt and any runtime-API user). Retained for
     * the life of the process and never released: cuBLASLt's runtime keeps using it.
     */
    public MemorySegment primaryContext(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.ADDRESS);
            check((int) cuDevicePrimaryCtxRetain.invokeExact(v, device), "cuDevicePrimaryCtxRetain(" + device + ")");
            return v.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow("cuDevicePrimaryCtxRetain", t);
        }
    }

    public void setCurrent(MemorySegment context) {
        try {
            check((int) cuCtxSetCurrent.invokeExact(context), "cuCtxSetCurrent");
        } catch (Throwable t) {
            throw rethrow("cuCtxSetCurrent", t);
        }
    }

    public void contextSynchronize() {
        try {
            check((int) cuCtxSynchronize.invokeExact(), "cuCtxSynchronize");
        } catch (Throwable t) {
            throw rethrow("cuCtxSynchronize", t);
        }
    }

    // ---- memory -------------------------------------------------------------------------------

    /** {free, total} bytes of the current context's device. */
    public long[] memInfo() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment f = a.allocate(ValueLayout.JAVA_LONG);
            MemorySegment t = a.allocate(ValueLayout.JAVA_LONG);
            check((int) cuMemGetInfo.invokeExact(f, t), "cuMemGetInfo_v2");
            return new long[] {f.get(ValueLayout.JAVA_LONG, 0), t.get(ValueLayout.JAVA_LONG, 0)};
        } catch (Throwable t) {
            throw rethrow("cuMemGetInfo_v2", t);
        }
    }

    public long memAlloc(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ValueLayout.JAVA_LONG);
            check((int) cuMemAlloc.invokeExact(p, bytes), "cuMemAlloc_v2(" + bytes + " bytes)");
            return p.get(ValueLayout.JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow("cuMemAlloc_v2", t);
        }
    }

    public void memFree(long ptr) {
        try {
            check((int) cuMemFree.invokeExact(ptr), "cuMemFree_v2");
        } catch (Throwable t) {
            throw rethrow("cuMemFree_v2", t);
        }
    }

    /** Page-locked host memory (fast, truly asynchronous copies), as a segment of that size. */
    public MemorySegment memAllocHost(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ValueLayout.ADDRESS);
            check((int) cuMemAllocHost.invokeExact(p, bytes), "cuMemAllocHost_v2(" + bytes + " bytes)");
            return p.get(ValueLayout.ADDRESS, 0).reinterpret(bytes);
        } catch (Throwable t) {
            throw rethrow("cuMemAllocHost_v2", t);
        }
    }

    public void memFreeHost(MemorySegment host) {
        try {
            check((int) cuMemFreeHost.invokeExact(host), "cuMemFreeHost");
        } catch (Throwable t) {
            throw rethrow("cuMemFreeHost", t);
        }
    }

    /** Synchronous copy of host memory (a native segment) to the device. */
    public void memcpyHtoD(long dst, MemorySegment src, long bytes) {
        try {
            check((int) cuMemcpyHtoD.invokeExact(dst, src, bytes), "cuMemcpyHtoD_v2(" + bytes + " bytes)");
        } catch (Throwable t) {
            throw rethrow("cuMemcpyHtoD_v2", t);
        }
    }

    public void memcpyDtoH(MemorySegment dst, long src, long bytes) {
        try {
            check((int) cuMemcpyDtoH.invokeExact(dst, src, bytes), "cuMemcpyDtoH_v2(" + bytes + " bytes)");
        } catch (Throwable t) {
            throw rethrow("cuMemcpyDtoH_v2", t);
        }
    }

    public void memcpyHtoDAsync(long dst, MemorySegment src, long bytes, MemorySegment stream) {
        try {
            check((int) cuMemcpyHtoDAsync.invokeExact(dst, src, bytes, stream),
                    "cuMemcpyHtoDAsync_v2(" + bytes + " bytes)");
        } catch (Throwable t) {
            throw rethrow("cuMemcpyHtoDAsync_v2", t);
        }
    }

    public void memcpyDtoHAsync(MemorySegment dst, long src, long bytes, MemorySegment stream) {
        try {
            check((int) cuMemcpyDtoHAsync.invokeExact(dst, src, bytes, stream),
                    "cuMemcpyDtoHAsync_v2(" + bytes + " bytes)");
        } catch (Throwable t) {
            throw rethrow("cuMemcpyDtoHAsync_v2", t);
        }
    }

    public void memcpyDtoDAsync(long dst, long src, long bytes, MemorySegment stream) {
        try {
            check((int) cuMemcpyDtoDAsync.invokeExact(dst, src, bytes, stream),
                    "cuMemcpyDtoDAsync_v2(" + bytes + " bytes)");
        } catch (Throwable t) {
            throw rethrow("cuMemcpyDtoDAsync_v2", t);
        }
    }

    public void memsetD8Async(long dst, int value, long bytes, MemorySegment stream) {
        try {
            check((int) cuMemsetD8Async.invokeExact(dst, (byte) value, bytes, stream),
                    "cuMemsetD8Async(" + bytes + " bytes)");
        } catch (Throwable t) {
            throw rethrow("cuMemsetD8Async", t);
        }
    }

    // ---- modules and launches -----------------------------------------------------------------

    /** Loads a cubin/fatbin/PTX image (a native segment) into the current context. */
    public MemorySegment moduleLoadData(MemorySegment image) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(ValueLayout.ADDRESS);
            check((int) cuModuleLoadData.invokeExact(m, image), "cuModuleLoadData(" + image.byteSize() + " bytes)");
            return m.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow("cuModuleLoadData", t);
        }
    }

    public void moduleUnload(MemorySegment module) {
        try {
            check((int) cuModuleUnload.invokeExact(module), "cuModuleUnload");
        } catch (Throwable t) {
            throw rethrow("cuModuleUnload", t);
        }
    }

    public MemorySegment moduleGetFunction(MemorySegment module, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment f = a.allocate(ValueLayout.ADDRESS);
            check((int) cuModuleGetFunction.invokeExact(f, module, a.allocateFrom(name)),
                    "cuModuleGetFunction(" + name + ")");
            return f.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow("cuModuleGetFunction", t);
        }
    }

    /** cuLaunchKernel; returns the raw CUresult so the caller can name the kernel and shape. */
    int launchKernel(MemorySegment fn, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes,
                     MemorySegment stream, MemorySegment params) {
        try {
            return (int) cuLaunchKernel.invokeExact(fn, gx, gy, gz, bx, by, bz, sharedBytes, stream, params,
                    MemorySegment.NULL);
        } catch (Throwable t) {
            throw rethrow("cuLaunchKernel", t);
        }
    }

    /** Whether {@link #launchKernelEx} is there. */
    boolean hasLaunchKernelEx() {
        return cuLaunchKernelEx != null;
    }

    /**
     * cuLaunchKernelEx with a CUlaunchConfig that {@link LaunchConfig} filled; returns the raw
     * CUresult like {@link #launchKernel}.
     */
    int launchKernelEx(MemorySegment config, MemorySegment fn, MemorySegment params) {
        try {
            return (int) cuLaunchKernelEx.invokeExact(config, fn, params, MemorySegment.NULL);
        } catch (Throwable t) {
            throw rethrow("cuLaunchKernelEx", t);
        }
    }

    // ---- streams and events -------------------------------------------------------------------

    public MemorySegment streamCreate(int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(ValueLayout.ADDRESS);
            check((int) cuStreamCreate.invokeExact(s, flags), "cuStreamCreate");
            return s.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow("cuStreamCreate", t);
        }
    }

    public void streamSynchronize(MemorySegment stream) {
        try {
            check((int) cuStreamSynchronize.invokeExact(stream), "cuStreamSynchronize");
        } catch (Throwable t) {
            throw rethrow("cuStreamSynchronize", t);
        }
    }

    /** Like streamSynchronize, returning the CUresult (for callers that add context). */
    int streamSynchronizeRaw(MemorySegment stream) {
        try {
            return (int) cuStreamSynchronize.invokeExact(stream);
        } catch (Throwable t) {
            throw rethrow("cuStreamSynchronize", t);
        }
    }

    public void streamDestroy(MemorySegment stream) {
        try {
            check((int) cuStreamDestroy.invokeExact(stream), "cuStreamDestroy_v2");
        } catch (Throwable t) {
            throw rethrow("cuStreamDestroy_v2", t);
        }
    }

    /** CU_EVENT_DISABLE_TIMING: an event only waited on, never timed (cheaper to record and wait for). */
    public static final int EVENT_DISABLE_TIMING = 0x2;

    public MemorySegment eventCreate() {
        return eventCreate(0);
    }

    public MemorySegment eventCreate(int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment e = a.allocate(ValueLayout.ADDRESS);
            check((int) cuEventCreate.invokeExact(e, flags), "cuEventCreate");
            return e.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow("cuEventCreate", t);
        }
    }

    public void eventRecord(MemorySegment event, MemorySegment stream) {
        try {
            check((int) cuEventRecord.invokeExact(event, stream), "cuEventRecord");
        } catch (Throwable t) {
            throw rethrow("cuEventRecord", t);
        }
    }

    public void eventSynchronize(MemorySegment event) {
        try {
            check((int) cuEventSynchronize.invokeExact(event), "cuEventSynchronize");
        } catch (Throwable t) {
            throw rethrow("cuEventSynchronize", t);
        }
    }

    /** Like eventSynchronize, returning the CUresult (for callers that add context). */
    int eventSynchronizeRaw(MemorySegment event) {
        try {
            return (int) cuEventSynchronize.invokeExact(event);
        } catch (Throwable t) {
            throw rethrow("cuEventSynchronize", t);
        }
    }

    /** Milliseconds between two recorded events. */
    public float eventElapsedMs(MemorySegment start, MemorySegment end) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ms = a.allocate(ValueLayout.JAVA_FLOAT);
            check((int) cuEventElapsedTime.invokeExact(ms, start, end), "cuEventElapsedTime");
            return ms.get(ValueLayout.JAVA_FLOAT, 0);
        } catch (Throwable t) {
            throw rethrow("cuEventElapsedTime", t);
        }
    }

    public void eventDestroy(MemorySegment event) {
        try {
            check((int) cuEventDestroy.invokeExact(event), "cuEventDestroy_v2");
        } catch (Throwable t) {
            throw rethrow("cuEventDestroy_v2", t);
        }
    }

    // ---- CUDA graphs ----------------------------------------------------------------------------

    /** Whether the driver has the stream-capture and graph calls. */
    public boolean hasGraphs() {
        return cuStreamBeginCapture != null && cuStreamEndCapture != null && cuGraphInstantiate != null
                && cuGraphLaunch != null && cuGraphExecDestroy != null && cuGraphDestroy != null;
    }

    private void requireGraphs() {
        if (!hasGraphs()) {
            throw new JLightException("this CUDA driver has no stream capture / graph API");
        }
    }

    /** Starts capturing the work queued on {@code stream} into a graph (relaxed mode). */
    public void streamBeginCapture(MemorySegment stream) {
        requireGraphs();
        try {
            check((int) cuStreamBeginCapture.invokeExact(stream, CAPTURE_MODE_RELAXED), "cuStreamBeginCapture_v2");
        } catch (Throwable t) {
            throw rethrow("cuStreamBeginCapture_v2", t);
        }
    }

    /**
     * Ends the capture; returns the graph, or throws (the capture was invalidated). Either way
     * the stream is back to normal operation.
     */
    public MemorySegment streamEndCapture(MemorySegment stream) {
        requireGraphs();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment g = a.allocate(ValueLayout.ADDRESS);
            int r = (int) cuStreamEndCapture.invokeExact(stream, g);
            MemorySegment graph = g.get(ValueLayout.ADDRESS, 0);
            if (r != 0 && !graph.equals(MemorySegment.NULL)) {
                graphDestroy(graph);
            }
            check(r, "cuStreamEndCapture");
            return graph;
        } catch (Throwable t) {
            throw rethrow("cuStreamEndCapture", t);
        }
    }

    public MemorySegment graphInstantiate(MemorySegment graph) {
        requireGraphs();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment e = a.allocate(ValueLayout.ADDRESS);
            check((int) cuGraphInstantiate.invokeExact(e, graph, 0L), "cuGraphInstantiateWithFlags");
            return e.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow("cuGraphInstantiateWithFlags", t);
        }
    }

    /** cuGraphLaunch; returns the raw CUresult so the caller can say which graph. */
    int graphLaunch(MemorySegment exec, MemorySegment stream) {
        try {
            return (int) cuGraphLaunch.invokeExact(exec, stream);
        } catch (Throwable t) {
            throw rethrow("cuGraphLaunch", t);
        }
    }

    public void graphExecDestroy(MemorySegment exec) {
        try {
            check((int) cuGraphExecDestroy.invokeExact(exec), "cuGraphExecDestroy");
        } catch (Throwable t) {
            throw rethrow("cuGraphExecDestroy", t);
        }
    }

    public void graphDestroy(MemorySegment graph) {
        try {
            check((int) cuGraphDestroy.invokeExact(graph), "cuGraphDestroy");
        } catch (Throwable t) {
            throw rethrow("cuGraphDestroy", t);
        }
    }
}
