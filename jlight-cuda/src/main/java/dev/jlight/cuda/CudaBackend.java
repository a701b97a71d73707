package dev.jlight.cuda;

import dev.jlight.core.JLightException;
import dev.jlight.core.backend.AttentionMetadata;
import dev.jlight.core.backend.Backend;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.backend.KvCacheSpec;
import dev.jlight.core.backend.PendingInts;
import dev.jlight.core.backend.RopeSpec;
import dev.jlight.core.backend.Tensor;
import dev.jlight.core.weights.DType;
import dev.jlight.core.weights.WeightTensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The CUDA backend: activations in bf16, weights uploaded as bf16 (f32/f16 converted on the
 * device while uploading), every op a kernel of src/main/cuda with f32 math, matmuls through
 * cuBLASLt. All device memory comes from one {@link DeviceArena}; all work is queued on one
 * stream, so {@link #synchronize()} (or a download) is where asynchronous errors surface.
 *
 * <p>{@link #concatRows} copies the parts into one tensor and releases parts that came from
 * {@link #weight}: using such a part afterwards fails with a message saying so.
 *
 * <p>Not thread-safe (one engine thread drives it); any thread may be that thread, the context
 * is made current on first use by each thread.
 */
public final class CudaBackend implements Backend {
    /**
     * @param device               ordinal of the GPU
     * @param gpuMemoryUtilization fraction of the GPU's TOTAL memory this process may use (vLLM's
     *                             --gpu-memory-utilization); memory already in use when the backend
     *                             opens (other processes, the context) counts against it
     * @param arenaBytes           a fixed arena size instead (tests), 0 to use the fraction
     */
    public record Options(int device, double gpuMemoryUtilization, long arenaBytes) {
        public Options {
            if (!(gpuMemoryUtilization > 0 && gpuMemoryUtilization <= 1)) {
                throw new JLightException("gpu-memory-utilization must be in (0, 1], got " + gpuMemoryUtilization);
            }
            if (arenaBytes < 0) {
                throw new JLightException("arena size must be positive, got " + arenaBytes);
            }
        }

        public static Options defaults() {
            return new Options(0, 0.90, 0);
        }

        public Options withArenaBytes(long bytes) {
            return new Options(device, gpuMemoryUtilization, bytes);
        }

        public Options withGpuMemoryUtilization(double fraction) {
            return new Options(device, fraction, arenaBytes);
        }
    }

    /** Whether a CUDA backend can open here, and if not why ("no GPU", "kernels not built ..."). */
    public record Availability(boolean available, String reason, String device) {
    }

    /**
     * The attention kernel: {@code FLASH} (tensor cores, tiles of 64 query tokens sharing K/V
     * tiles through shared memory; head dims 64 and 128), {@code DECODE} (split-KV, GQA groups of
     * 1..8 together, 16-byte loads with the next rows in flight during the math, splits merged in
     * the kernel; head dims 64, 80, 96, 128, 256), {@code SPLIT} (the older split-KV, GQA groups of
     * 1..8 together, several rows in flight per warp; splits the context when the grid would be
     * small), {@code GROUPED} (the query heads of a KV head together, GQA 2/4/8), {@code SIMPLE}
     * (one block per query head). {@code AUTO}: FLASH for steps of at least 512 tokens where it
     * applies, else DECODE, else SPLIT where they apply. DECODE runs on tensor cores where
     * {@link DecodeAttention} allows (then also for GQA groups 9..16 at head dims 64 and 128).
     * -Djlight.cuda.attention=auto|flash|decode|split|grouped|simple.
     */
    public enum AttentionKernel { AUTO, FLASH, DECODE, SPLIT, GROUPED, SIMPLE }

    /**
     * Which kernel runs the DECODE attention: {@code TC} (attention_decode_tc.cu: QK and PV on
     * tensor cores; head dims 64 and 128, GQA groups 1..16) where it applies, else (and always for
     * {@code SIMT}) the CUDA-core kernel of attention_decode.cu. Same arguments, grid, split plan
     * and merge order. -Djlight.cuda.decodeAttention=tc|simt.
     */
    public enum DecodeAttention { TC, SIMT }

    /**
     * Matmuls of at most 8 tokens: {@code ON} always the GEMV kernel (where shapes and alignment
     * allow), {@code OFF} always cuBLASLt, {@code AUTO} whichever of the two is faster for the
     * shape, timed once at first use (L2 flushed between runs). -Djlight.cuda.gemv=auto|on|off.
     */
    public enum GemvMode { AUTO, ON, OFF }

    static final long CUBLAS_WORKSPACE_BYTES = 32L << 20;
    static final long STAGING_BYTES = 64L << 20;
    /** Left free for what the driver and cuBLASLt allocate after the arena (module data, handles). */
    static final long RESERVE_BYTES = 512L << 20;
    private static final int ATTN_WARPS = 4;
    private static final ThreadLocal<MemorySegment> CURRENT = new ThreadLocal<>();

    private final CudaDriver driver;
    private final int device;
    private final MemorySegment context;
    private final MemorySegment stream;
    private final Arena host = Arena.ofShared();
    private final Kernels kernels;
    private final DeviceArena arena;
    private final long arenaBase;
    private final CublasLt lt;
    private final Matmul matmul;
    private final CudaTensor.Storage cublasWorkspace;
    private final MemorySegment staging;
    /** Which staging bytes queued uploads may still read (see StagingRing). */
    private final StagingRing stagingRing = new StagingRing(STAGING_BYTES, DeviceArena.ALIGN);
    /** Overlapped steps' ids on their way to the host (downloadIntsAsync). */
    private final Readbacks readbacks;
    private final String deviceName;
    private final int computeMajor;
    private final int computeMinor;
    private final int smCount;
    private final long totalMemory;
    private final Map<RopeSpec, CudaTensor> invFreqs = new HashMap<>();
    private final CudaMoe moe = new CudaMoe(this);
    private StepMeta stepMeta;
    private boolean closed;
    private AttentionKernel attentionKernel = parse(AttentionKernel.class, "jlight.cuda.attention", AttentionKernel.AUTO);
    private DecodeAttention decodeAttention = parse(DecodeAttention.class, "jlight.cuda.decodeAttention",
            DecodeAttention.TC);
    private GemvMode gemvMode = parse(GemvMode.class, "jlight.cuda.gemv", GemvMode.AUTO);
    private boolean fuseRopeKv = !"false".equals(System.getProperty("jlight.cuda.fuseRopeKv"));
    /** gemv_swiglu_bf16 for matmulSiluMul at T <= 8 unless -Djlight.cuda.fuseSwiGlu=false. */
    private boolean fuseSwiGlu = !"false".equals(System.getProperty("jlight.cuda.fuseSwiGlu"));
    /**
     * gemv_add_bf16 for matmulAddResidual where the GEMV runs (the residual add in the GEMV's
     * epilogue), unless -Djlight.cuda.fuseResidualAdd=false (then Backend's composition: matmul,
     * add). On the H100 at batch 8: 6.438 ms with against 6.509 ms without
     * (docs/results/2026-11-26-s4-run7-bench-gptfast).
     */
    private boolean fuseResidualAdd = !"false".equals(System.getProperty("jlight.cuda.fuseResidualAdd"));
    /**
     * gemv_norm_* for rmsNormMatmul(SiluMul) (the RMSNorm in the GEMV's prologue) only with
     * -Djlight.cuda.fuseNorm=true: measured on the H100 it bought nothing at batch 1 (6.010 against
     * 6.022 ms with neither fused) and cost 2.8 % at batch 4 (6.325
     * against 6.153 ms, docs/results/2026-11-26-s4-run7-bench-gptfast): every block's prologue
     * (the T rows read, reduced and normed before its first weight load) costs more than the
     * launch it saves. Off, rmsNormMatmul is Backend's composition: rmsNorm, then the GEMV.
     */
    private boolean fuseNorm = "true".equals(System.getProperty("jlight.cuda.fuseNorm"));
    /**
     * Blocks per SM of the gemv_norm_* grid, each taking several row tiles after one norm prologue
     * (0: one block per tile, the plain GEMV's grid); 2 = the blocks one SM holds at once
     * (__launch_bounds__(256, 2)). -Djlight.cuda.normGemvBlocksPerSm=N.
     */
    private int normGemvBlocksPerSm = Integer.getInteger("jlight.cuda.normGemvBlocksPerSm", 2);
    /**
     * K/V rows per decode-attention block prefetched into L2 before its PDL wait, when the step's
     * context is split (few blocks: batch 1 to ~32 at Llama-3.1-8B); 64 covers a batch-1 split.
     * Measured on the H100 (docs/results/2026-11-26-s4-run1-prefetch): batch 1 6.420 ms with
     * against 6.481 without; batch 64 (no splits) 9.315 with against 9.276 without, hence only
     * with splits. -Djlight.cuda.attentionPrefetch=0 turns it off.
     */
    private int decodePrefetchRows = Integer.getInteger("jlight.cuda.attentionPrefetch", 64);
    /** GEMV or cuBLASLt per (T, N, K, output dtype), decided by timing both (GemvMode.AUTO). */
    private final Map<String, Boolean> gemvChoice = new HashMap<>();
    private final List<String> gemvTimings = new ArrayList<>();
    private final List<String> matmulTunings = new ArrayList<>();
    private boolean tuneMatmuls = !"false".equals(System.getProperty("jlight.cuda.tuneMatmul"));
    /** Split-KV attention partials; replaced by a larger one when needed. */
    private CudaTensor splitPartials;
    /** The decode kernel's per-(token, KV head) split counters (I32, zero between launches). */
    private CudaTensor decodeCounters;
    /** Tests: positions per decode split instead of SplitPlan's choice (0: the plan's). */
    private int forcedDecodeSplit;
    /**
     * Blocks replaced by larger ones while graphs may still name them: kept (not returned to
     * the arena) so that no graph can ever write into memory given to something else.
     */
    private final List<CudaTensor> retired = new ArrayList<>();
    // ---- graph capture / replay state (see CudaGraphRunner) ----
    private enum GraphMode { EAGER, CAPTURE, REPLAY }
    private GraphMode graphMode = GraphMode.EAGER;
    private CudaGraph graph;
    private boolean capturing;
    private int replayed;
    /** Whether the replayed graph was already launched (at the step's first op; see dispatch). */
    private boolean replayLaunched;
    private final List<CudaGraph> liveGraphs = new ArrayList<>();

    /** The default backend: GPU 0, 90% of its memory. */
    public CudaBackend() {
        this(Options.defaults());
    }

    public CudaBackend(Options options) {
        this.driver = CudaDriver.get();
        int count = driver.deviceCount();
        if (options.device() >= count) {
            throw new JLightException("GPU " + options.device() + " requested but " + count + " present");
        }
        String missing = Kernels.missingReason();
        if (missing != null) {
            throw new JLightException(missing);
        }
        this.device = driver.device(options.device());
        this.context = driver.primaryContext(device);
        driver.setCurrent(context);
        CURRENT.set(context);
        this.deviceName = driver.deviceName(device);
        this.computeMajor = driver.deviceAttribute(CudaDriver.ATTR_COMPUTE_CAPABILITY_MAJOR, device);
        this.computeMinor = driver.deviceAttribute(CudaDriver.ATTR_COMPUTE_CAPABILITY_MINOR, device);
        this.smCount = driver.deviceAttribute(CudaDriver.ATTR_MULTIPROCESSOR_COUNT, device);
        this.stream = driver.streamCreate(CudaDriver.STREAM_NON_BLOCKING);
        this.kernels = new Kernels(driver, stream, host, computeMajor >= 9);
        this.lt = CublasLt.load();
        this.staging = driver.memAllocHost(STAGING_BYTES);
        this.readbacks = new Readbacks(driver, stream, this::enter, stagingRing::mark, stagingRing::retire,
                r -> new CudaException("the step whose ids were awaited (recent kernels: " + kernels.recentLaunches()
                        + ")", r, driver.errorName(r), driver.errorString(r)));
        // measured after the module, stream and pinned buffer exist, so they count as in use
        long[] info = driver.memInfo();
        long freeMem = info[0];
        this.totalMemory = info[1];
        long inUse = totalMemory - freeMem;
        long bytes;
        String sizing;
        if (options.arenaBytes() > 0) {
            bytes = options.arenaBytes();
            sizing = "fixed arena of " + DeviceArena.gib(bytes) + " on a " + DeviceArena.gib(totalMemory) + " GPU";
        } else {
            long budget = (long) (options.gpuMemoryUtilization() * totalMemory);
            bytes = budget - inUse - RESERVE_BYTES;
            sizing = String.format(Locale.ROOT, "gpu-memory-utilization %.2f of %s, %s already in use",
                    options.gpuMemoryUtilization(), DeviceArena.gib(totalMemory), DeviceArena.gib(inUse));
            if (bytes < (256L << 20)) {
                throw new JLightException("no room for JLight on " + deviceName + ": " + sizing + " leaves "
                        + DeviceArena.gib(Math.max(bytes, 0)) + " (raise --gpu-memory-utilization or free the GPU)");
            }
        }
        if (bytes > freeMem - (64L << 20)) {
            throw new JLightException("arena of " + DeviceArena.gib(bytes) + " does not fit: " + deviceName + " has "
                    + DeviceArena.gib(freeMem) + " free (" + sizing + ")");
        }
        this.arenaBase = driver.memAlloc(bytes);
        this.arena = new DeviceArena(arenaBase, bytes, sizing);
        DeviceArena.Block ws = arena.allocate(CUBLAS_WORKSPACE_BYTES, DeviceArena.Purpose.WORKSPACE,
                "the cuBLASLt workspace");
        this.cublasWorkspace = new CudaTensor.Storage(arena, ws, "cuBLASLt workspace");
        this.matmul = new Matmul(lt, stream, ws.address(), ws.size());
    }

    // ---- availability -------------------------------------------------------------------------

    /** True when a driver, a GPU and the compiled kernels are all there. Never throws. */
    public static boolean isAvailable() {
        return probe().available();
    }

    /** Loads the driver if it can (and nothing else); says why not otherwise. Never throws. */
    public static Availability probe() {
        try {
            CudaDriver d = CudaDriver.get();
            String name = d.deviceName(d.device(0));
            String missing = Kernels.missingReason();
            return missing == null ? new Availability(true, "", name) : new Availability(false, missing, name);
        } catch (RuntimeException | LinkageError e) {
            return new Availability(false, e.getMessage() != null ? e.getMessage() : e.toString(), "");
        }
    }

    // ---- info ---------------------------------------------------------------------------------

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public DType activationDType() {
        return DType.BF16;
    }

    /** "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79.1 GiB), driver 13000, cuBLASLt 130100". */
    public String describe() {
        return String.format(Locale.ROOT, "%s (sm_%d%d, %d SMs, %s), driver %d, cuBLASLt %d", deviceName,
                computeMajor, computeMinor, smCount, DeviceArena.gib(totalMemory), driver.driverVersion(),
                lt.version());
    }

    public DeviceArena arena() {
        return arena;
    }

    /** Bytes the KV cache could take now (the largest free block of the arena, less a margin). */
    public long freeDeviceBytes() {
        return arena.largestFree();
    }

    boolean isClosed() {
        return closed;
    }

    CudaDriver driver() {
        return driver;
    }

    MemorySegment stream() {
        return stream;
    }

    Kernels kernels() {
        return kernels;
    }

    // ---- memory -------------------------------------------------------------------------------

    @Override
    public Tensor weight(WeightTensor w) {
        enter();
        DType src = w.dtype();
        if (!src.isFloatWeight()) {
            throw new JLightException(w.describe() + ": dtype " + src + " is not supported by the cuda backend");
        }
        long n = w.numel();
        if (w.data().byteSize() < n * src.bytes()) {
            throw new JLightException(w.describe() + ": " + w.data().byteSize() + " bytes for " + n + " elements");
        }
        CudaTensor t = newTensor(DType.BF16, w.shape().clone(), DeviceArena.Purpose.WEIGHTS, w.name());
        if (src == DType.BF16) {
            copyToDevice(t.ptr(), w.data(), n * 2);
        } else {
            convertToBf16(t.ptr(), w.data(), n, src, w.name());
        }
        return t;
    }

    /** Uploads f32/f16 data in chunks to a device scratch buffer and converts it into dst. */
    private void convertToBf16(long dst, MemorySegment data, long n, DType src, String what) {
        long chunk = Math.min(n, STAGING_BYTES / 4);
        CudaTensor scratch = newTensor(src, new long[] {chunk}, DeviceArena.Purpose.WORKSPACE, "conversion of " + what);
        String kernel = src == DType.F32 ? "convert_f32_bf16" : "convert_f16_bf16";
        for (long off = 0; off < n; off += chunk) {
            long len = Math.min(chunk, n - off);
            copyToDevice(scratch.ptr(), data.asSlice(off * src.bytes(), len * src.bytes()), len * src.bytes());
            int grid = (int) Math.min((len + 255) / 256, 1 << 16);
            launch(kernel, grid, 1, 256, 0, () -> "weight " + what, dst + off * 2, scratch.ptr(), len);
        }
        scratch.storage().release(); // stream order keeps later users of the block behind the kernels
    }

    @Override
    public Tensor concatRows(Tensor... parts) {
        enter();
        if (parts.length == 0) {
            throw new IllegalArgumentException("concatRows of no tensors");
        }
        if (parts.length == 1) {
            return parts[0];
        }
        long cols = parts[0].cols();
        long rows = 0;
        StringBuilder names = new StringBuilder();
        for (Tensor p : parts) {
            CudaTensor c = cuda(p, "concatRows");
            if (p.cols() != cols || p.dtype() != parts[0].dtype() || !p.isContiguous()) {
                throw new JLightException("concatRows: parts must be contiguous with equal cols and dtype, got "
                        + parts[0] + " and " + p);
            }
            rows += p.rows();
            names.append(names.isEmpty() ? "" : "+").append(c.storage().what);
        }
        requireEager("concatRows");
        CudaTensor out = newTensor(parts[0].dtype(), new long[] {rows, cols}, DeviceArena.Purpose.WEIGHTS,
                names.toString());
        long off = 0;
        for (Tensor p : parts) {
            CudaTensor c = (CudaTensor) p;
            driver.memcpyDtoDAsync(out.ptr() + off, c.ptr(), c.denseBytes(), stream);
            off += c.denseBytes();
        }
        for (Tensor p : parts) {
            CudaTensor c = (CudaTensor) p;
            if (c.ownsStorage() && c.storage().block.purpose() == DeviceArena.Purpose.WEIGHTS) {
                c.storage().release();
            }
        }
        return out;
    }

    @Override
    public Tensor allocate(DType dtype, long... shape) {
        enter();
        if (shape.length == 0) {
            throw new IllegalArgumentException("allocate: empty shape");
        }
        return newTensor(dtype, shape.clone(), DeviceArena.Purpose.WORKSPACE,
                "allocate(" + dtype + java.util.Arrays.toString(shape) + ")");
    }

    private CudaTensor newTensor(DType dtype, long[] shape, DeviceArena.Purpose purpose, String what) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException(what + ": negative dimension");
            }
            n *= d;
        }
        DeviceArena.Block b = allocateBlock(n * dtype.bytes(), purpose, what);
        CudaTensor.Storage s = new CudaTensor.Storage(arena, b, what);
        return new CudaTensor(dtype, shape, shape[shape.length - 1], b.address(), s, true);
    }

    /**
     * An arena block; when the arena is short, gives the Cleaner a chance to return blocks of
     * tensors that are no longer referenced (as the JDK does for direct buffers), then retries.
     */
    private DeviceArena.Block allocateBlock(long bytes, DeviceArena.Purpose purpose, String what) {
        try {
            return arena.allocate(bytes, purpose, what);
        } catch (DeviceArena.OutOfArenaException e) {
            for (int i = 0; i < 8; i++) {
                System.gc();
                try {
                    Thread.sleep(1L << i);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
                if (arena.largestFree() >= DeviceArena.alignUp(bytes)) {
                    return arena.allocate(bytes, purpose, what);
                }
            }
            throw e;
        }
    }

    @Override
    public Tensor sliceRows(Tensor t, long from, long to) {
        CudaTensor c = cuda(t, "sliceRows");
        if (from < 0 || to < from || to > t.rows()) {
            throw new IndexOutOfBoundsException("sliceRows [" + from + ", " + to + ") of " + t);
        }
        long addr = c.ptr() + from * t.rowStride() * t.dtype().bytes();
        return new CudaTensor(t.dtype(), new long[] {to - from, t.cols()}, t.rowStride(), addr, c.storage(), false);
    }

    @Override
    public Tensor sliceCols(Tensor t, long from, long to) {
        CudaTensor c = cuda(t, "sliceCols");
        if (from < 0 || to < from || to > t.cols()) {
            throw new IndexOutOfBoundsException("sliceCols [" + from + ", " + to + ") of " + t);
        }
        long[] shape = t.rank() == 1 ? new long[] {to - from} : new long[] {t.rows(), to - from};
        long addr = c.ptr() + from * t.dtype().bytes();
        return new CudaTensor(t.dtype(), shape, t.rowStride(), addr, c.storage(), false);
    }

    @Override
    public void upload(Tensor dst, MemorySegment src) {
        enter();
        CudaTensor d = cuda(dst, "upload");
        if (!d.isContiguous()) {
            throw new JLightException("upload: destination " + d + " is not contiguous");
        }
        long bytes = d.denseBytes();
        if (src.byteSize() < bytes) {
            throw new JLightException("upload: " + src.byteSize() + " bytes of host data for " + d + " (" + bytes
                    + " bytes)");
        }
        copyToDevice(d.ptr(), src, bytes);
    }

    @Override
    public void download(Tensor src, MemorySegment dst) {
        enter();
        graphFinish(); // a download ends a captured or replayed step: its work must run first
        CudaTensor s = cuda(src, "download");
        long bytes = s.denseBytes();
        if (dst.byteSize() < bytes) {
            throw new JLightException("download: " + dst.byteSize() + " bytes of host memory for " + s + " ("
                    + bytes + " bytes)");
        }
        if (bytes == 0) {
            return;
        }
        if (s.isContiguous() || s.rows() == 1) {
            copyToHost(dst, s.ptr(), bytes);
            return;
        }
        CudaTensor dense = newTensor(s.dtype(), new long[] {s.rows(), s.cols()}, DeviceArena.Purpose.WORKSPACE,
                "download of a strided view");
        long rowBytes = s.cols() * s.dtype().bytes();
        launch("compact_rows", gridX(rowBytes, s.rows()), gridY(s.rows()), 256, 0,
                () -> "download(" + s + ")", dense.ptr(), s.ptr(), (int) s.rows(), rowBytes,
                s.rowStride() * s.dtype().bytes());
        copyToHost(dst, dense.ptr(), bytes);
        dense.storage().release();
    }

    @Override
    public boolean downloadsAsync() {
        return true;
    }

    /**
     * The ids of a step the engine awaits later: copied into pinned memory behind an event, so
     * the await waits for this step alone while the next one runs (Readbacks). Ends a graph step
     * like {@link #download}.
     */
    @Override
    public PendingInts downloadIntsAsync(Tensor src) {
        enter();
        graphFinish();
        CudaTensor s = cuda(src, "downloadIntsAsync");
        requireDType("downloadIntsAsync", "source", s, DType.I32);
        if (!s.isContiguous() && s.rows() != 1) {
            throw new JLightException("downloadIntsAsync: source " + s + " is not contiguous");
        }
        int n = Math.toIntExact(s.numel());
        if (n == 0) {
            return PendingInts.done(new int[0]);
        }
        return readbacks.start(s.ptr(), n);
    }

    /** Host → device through the pinned staging buffer, asynchronously on the stream. */
    private void copyToDevice(long dst, MemorySegment src, long bytes) {
        if (graphMode == GraphMode.CAPTURE && capturing) {
            throw new JLightException("upload of " + bytes + " bytes while capturing a CUDA graph: a captured step's"
                    + " inputs must be uploaded before its first op");
        }
        if (graphMode == GraphMode.REPLAY && replayed > 0) {
            flushReplay("an upload after the step's first op");
        }
        for (long off = 0; off < bytes; off += STAGING_BYTES) {
            long len = Math.min(STAGING_BYTES, bytes - off);
            MemorySegment st = stagingTake(len);
            MemorySegment.copy(src, off, st, 0, len);
            driver.memcpyHtoDAsync(dst + off, st, len, stream);
        }
    }

    /** Downloads of at least this size are pipelined through the staging buffer's slots. */
    private static final long PIPELINE_MIN = 4L << 20;
    private static final long PIPELINE_CHUNK = 8L << 20;
    private static final long PARALLEL_PIECE = 1L << 20;
    private MemorySegment[] chunkEvents;

    /** Device → host through the staging buffer; waits for the stream. */
    private void copyToHost(MemorySegment dst, long src, long bytes) {
        if (bytes >= PIPELINE_MIN) {
            copyToHostPipelined(dst, src, bytes);
            return;
        }
        for (long off = 0; off < bytes; off += STAGING_BYTES) {
            long len = Math.min(STAGING_BYTES, bytes - off);
            MemorySegment st = stagingTake(len);
            driver.memcpyDtoHAsync(st, src + off, len, stream);
            syncStream();
            MemorySegment.copy(st, 0, dst, off, len);
        }
    }

    /**
     * A large download (logits of a big batch): the staging buffer as slots of 8 MiB, each slot's
     * device-to-host copy followed by an event, so the host copies a finished slot out (in 1 MiB
     * pieces on the common pool) while later slots are still in flight. Copies queued earlier
     * that read staging memory (uploads) run before these writes to it: one stream.
     */
    private void copyToHostPipelined(MemorySegment dst, long src, long bytes) {
        int slots = (int) (STAGING_BYTES / PIPELINE_CHUNK);
        if (chunkEvents == null) {
            chunkEvents = new MemorySegment[slots];
            for (int i = 0; i < slots; i++) {
                chunkEvents[i] = driver.eventCreate();
            }
        }
        int chunks = (int) ((bytes + PIPELINE_CHUNK - 1) / PIPELINE_CHUNK);
        for (int i = 0; i < chunks + slots; i++) {
            int done = i - slots; // the chunk whose slot chunk i reuses
            if (done >= 0 && done < chunks) {
                drainChunk(dst, done, bytes, slots);
            }
            if (i < chunks) {
                int slot = i % slots;
                long off = (long) i * PIPELINE_CHUNK;
                long len = Math.min(PIPELINE_CHUNK, bytes - off);
                driver.memcpyDtoHAsync(staging.asSlice(slot * PIPELINE_CHUNK, len), src + off, len, stream);
                driver.eventRecord(chunkEvents[slot], stream);
            }
        }
        syncStream();
    }

    private void drainChunk(MemorySegment dst, int chunk, long bytes, int slots) {
        int slot = chunk % slots;
        int r = driver.eventSynchronizeRaw(chunkEvents[slot]);
        if (r != 0) {
            throw new CudaException("download (recent kernels: " + kernels.recentLaunches() + ")", r,
                    driver.errorName(r), driver.errorString(r));
        }
        long off = (long) chunk * PIPELINE_CHUNK;
        long len = Math.min(PIPELINE_CHUNK, bytes - off);
        MemorySegment st = staging.asSlice(slot * PIPELINE_CHUNK, len);
        int pieces = (int) ((len + PARALLEL_PIECE - 1) / PARALLEL_PIECE);
        java.util.stream.IntStream.range(0, pieces).parallel().forEach(p -> {
            long o = p * PARALLEL_PIECE;
            long l = Math.min(PARALLEL_PIECE, len - o);
            MemorySegment.copy(st, o, dst, off + o, l);
        });
    }

    /**
     * A slice of the pinned buffer that no queued copy still reads (waits for the stream when the
     * ring is full). Uploads are never part of a CUDA graph (they come before a captured step's
     * first op and are queued eagerly on every replay too), so this ring is all that keeps two
     * steps in flight from sharing staging bytes: a replayed step's inputs go to fresh bytes
     * while the step before may still be waiting to read its own.
     */
    private MemorySegment stagingTake(long bytes) {
        long off = stagingRing.take(bytes);
        if (off < 0) {
            syncStream();
            off = stagingRing.take(bytes);
        }
        return staging.asSlice(off, bytes);
    }

    private void syncStream() {
        int r = driver.streamSynchronizeRaw(stream);
        if (r != 0) {
            throw new CudaException("cuStreamSynchronize (recent kernels: " + kernels.recentLaunches() + ")", r,
                    driver.errorName(r), driver.errorString(r));
        }
        stagingRing.reset();
    }

    @Override
    public KvCache allocateKvCache(KvCacheSpec spec) {
        enter();
        if (spec.dtype() != DType.BF16) {
            throw new JLightException("cuda backend keeps the KV cache in BF16, asked for " + spec.dtype());
        }
        if (spec.headDim() % 2 != 0 || spec.headDim() > 256) {
            throw new JLightException("cuda attention supports even head dims up to 256, got " + spec.headDim());
        }
        String what = String.format(Locale.ROOT, "%d blocks of %d tokens × %d layers × %d kv heads × %d dims",
                spec.numBlocks(), spec.blockSize(), spec.numLayers(), spec.numKvHeads(), spec.headDim());
        DeviceArena.Block b = allocateBlock(spec.totalBytes(), DeviceArena.Purpose.KV_CACHE, what);
        return new CudaKvCache(spec, new CudaTensor.Storage(arena, b, "KV cache of " + what), this);
    }

    // ---- ops ----------------------------------------------------------------------------------

    @Override
    public void embedding(Tensor out, Tensor table, Tensor ids) {
        gather("embedding", out, table, ids);
    }

    @Override
    public void gatherRows(Tensor out, Tensor x, Tensor rows) {
        gather("gatherRows", out, x, rows);
    }

    private void gather(String op, Tensor out, Tensor src, Tensor idx) {
        enter();
        CudaTensor o = cuda(out, op), s = cuda(src, op), i = cuda(idx, op);
        if (o.dtype() != s.dtype() || (o.dtype() != DType.BF16 && o.dtype() != DType.F32)) {
            throw new JLightException(op + ": out " + o + " and source " + s + " must both be BF16 or F32");
        }
        requireDType(op, "indices", i, DType.I32);
        long n = o.rows();
        if (i.numel() != n || o.cols() != s.cols()) {
            throw shapeError(op, "out " + o + ", source " + s + ", indices " + i);
        }
        if (n == 0) {
            return;
        }
        long idxStride = i.rank() == 1 ? 1 : i.rowStride();
        String kernel = o.dtype() == DType.BF16 ? "gather_rows_bf16" : "gather_rows_f32";
        launch(kernel, (int) Math.min(n, 1 << 20), 1, 256, 0,
                () -> op + "(R=" + n + ",H=" + o.cols() + ",V=" + s.rows() + ")", o.ptr(), s.ptr(), i.ptr(), (int) n,
                (int) o.cols(), (int) s.rows(), o.rowStride(), s.rowStride(), idxStride);
    }

    /** ids[t] = previous[rows[t]] where rows[t] >= 0 (embedding.cu's take_previous_ids); graph-safe. */
    @Override
    public void takePreviousIds(Tensor ids, Tensor previous, Tensor previousRows) {
        enter();
        String op = "takePreviousIds";
        CudaTensor i = cuda(ids, op), p = cuda(previous, op), r = cuda(previousRows, op);
        requireDType(op, "ids", i, DType.I32);
        requireDType(op, "previous", p, DType.I32);
        requireDType(op, "previousRows", r, DType.I32);
        long n = i.numel();
        if (r.numel() != n) {
            throw shapeError(op, "ids " + i + ", previousRows " + r);
        }
        if (n == 0) {
            return;
        }
        if (graphMode == GraphMode.CAPTURE) {
            graph.readsWhatItWrites = true; // previous is where this step's sample writes (LlamaModel's PickedIds)
        }
        launch("take_previous_ids", (int) Math.min((n + 255) / 256, 1024), 1, 256, 0,
                () -> op + "(T=" + n + ",P=" + p.numel() + ")", i.ptr(), p.ptr(), r.ptr(), (int) n,
                (int) p.numel(), indexStride(op, "ids", i), indexStride(op, "previous", p),
                indexStride(op, "previousRows", r));
    }

    /** The element stride of an index vector: [n], [n, 1] (any row stride) or [1, n]. */
    private static long indexStride(String op, String what, CudaTensor t) {
        if (t.rank() == 1 || t.rows() == 1) {
            return 1;
        }
        if (t.cols() == 1) {
            return t.rowStride();
        }
        throw new JLightException(op + ": " + what + " " + t + " must be a vector ([n] or [n, 1])");
    }

    @Override
    public boolean supportsSampling() {
        return true;
    }

    /** Token ids picked on the device (sampling.cu, see {@link CudaSampler}); graph-safe. */
    @Override
    public void sample(Tensor ids, Tensor logits, Tensor params) {
        enter();
        CudaTensor lg = cuda(logits, "sample");
        CudaSampler.Launch l = CudaSampler.plan(cuda(ids, "sample"), lg, cuda(params, "sample"));
        if (lg.rows() > 0) {
            launch(CudaSampler.KERNEL, l.grid(), 1, l.block(), 0, l::what, l.args());
        }
    }

    @Override
    public void rmsNorm(Tensor out, Tensor x, Tensor weight, float eps) {
        enter();
        CudaTensor o = bf16(out, "rmsNorm"), xx = bf16(x, "rmsNorm"), w = bf16(weight, "rmsNorm");
        long rows = xx.rows(), cols = xx.cols();
        if (o.rows() != rows || o.cols() != cols || w.numel() != cols) {
            throw shapeError("rmsNorm", "out " + o + ", x " + xx + ", weight " + w);
        }
        if (rows == 0) {
            return;
        }
        launch("rms_norm_bf16", (int) Math.min(rows, 1 << 20), 1, normThreads(cols), 0,
                () -> "rmsNorm(T=" + rows + ",H=" + cols + ")", o.ptr(), xx.ptr(), w.ptr(), (int) rows, (int) cols,
                o.rowStride(), xx.rowStride(), eps);
    }

    @Override
    public void addRmsNorm(Tensor out, Tensor residual, Tensor x, Tensor weight, float eps) {
        enter();
        CudaTensor o = bf16(out, "addRmsNorm"), r = bf16(residual, "addRmsNorm"), xx = bf16(x, "addRmsNorm"),
                w = bf16(weight, "addRmsNorm");
        long rows = r.rows(), cols = r.cols();
        if (o.rows() != rows || o.cols() != cols || xx.rows() != rows || xx.cols() != cols || w.numel() != cols) {
            throw shapeError("addRmsNorm", "out " + o + ", residual " + r + ", x " + xx + ", weight " + w);
        }
        if (rows == 0) {
            return;
        }
        launch("add_rms_norm_bf16", (int) Math.min(rows, 1 << 20), 1, normThreads(cols), 0,
                () -> "addRmsNorm(T=" + rows + ",H=" + cols + ")", o.ptr(), r.ptr(), xx.ptr(), w.ptr(), (int) rows,
                (int) cols, o.rowStride(), r.rowStride(), xx.rowStride(), eps);
    }

    private static int normThreads(long cols) {
        return cols <= 1024 ? 128 : cols <= 4096 ? 256 : 512;
    }

    @Override
    public void matmul(Tensor out, Tensor x, Tensor w) {
        enter();
        CudaTensor o = cuda(out, "matmul"), xx = bf16(x, "matmul"), ww = bf16(w, "matmul");
        if (o.dtype() != DType.BF16 && o.dtype() != DType.F32) {
            throw new JLightException("matmul: out must be BF16 or F32, got " + o);
        }
        long t = xx.rows(), k = xx.cols(), n = ww.rows();
        if (ww.cols() != k || o.rows() != t || o.cols() != n) {
            throw shapeError("matmul", "out " + o + " = x " + xx + " · wᵀ " + ww);
        }
        if (t == 0 || n == 0) { // an empty output: no launch (a grid of 0 blocks is an error)
            return;
        }
        int outType = o.dtype() == DType.F32 ? CublasLt.CUDA_R_32F : CublasLt.CUDA_R_16BF;
        String what = "matmul(T=" + t + ",N=" + n + ",K=" + k + ",out=" + o.dtype() + ")";
        Runnable cublas = () -> cublasMatmul(o.ptr(), outType, o.rowStride(), xx.ptr(), xx.rowStride(), ww.ptr(),
                ww.rowStride(), t, n, k, what);
        if (gemvApplies(o, xx, ww)) {
            Runnable gemv = () -> launch(o.dtype() == DType.F32 ? "gemv_f32" : "gemv_bf16",
                    (int) ((n + GEMV_ROWS_PER_BLOCK - 1) / GEMV_ROWS_PER_BLOCK), 1, GEMV_THREADS, 0, () -> what,
                    o.ptr(), xx.ptr(), ww.ptr(), (int) t, (int) n, (int) k, o.rowStride(), xx.rowStride(),
                    ww.rowStride());
            if (useGemv(t, n, k, o.dtype(), cublas, gemv)) {
                gemv.run();
                return;
            }
        }
        cublas.run();
    }

    /**
     * Where the gate/up matmul would run on the GEMV kernel (T <= 8, the shape's GEMV choice),
     * gemv_swiglu_bf16 does it and silu·mul in one launch (bit-identical to the pair); otherwise
     * the matmul into gu and siluMul.
     */
    @Override
    public void matmulSiluMul(Tensor out, Tensor gu, Tensor x, Tensor gateUp) {
        enter();
        CudaTensor o = bf16(out, "matmulSiluMul"), xx = bf16(x, "matmulSiluMul"), ww = bf16(gateUp, "matmulSiluMul");
        long t = xx.rows(), k = xx.cols(), inter = o.cols();
        if (ww.cols() != k || ww.rows() != 2 * inter || o.rows() != t) {
            throw shapeError("matmulSiluMul", "out " + o + " = silu·mul(x " + xx + " · gateUpᵀ " + ww + ")");
        }
        CudaTensor g = bf16(gu, "matmulSiluMul");
        // the shape's GEMV-or-cuBLASLt choice is matmul's; until it is timed (first eager use,
        // below through matmul) the pair runs
        if (fuseSwiGlu && t > 0 && inter > 0 && gemvChosen(g, xx, ww)) {
            launch("gemv_swiglu_bf16", (int) ((inter + GEMV_ROWS_PER_BLOCK / 2 - 1) / (GEMV_ROWS_PER_BLOCK / 2)), 1,
                    GEMV_THREADS, 0, () -> "matmulSiluMul(T=" + t + ",I=" + inter + ",K=" + k + ")", o.ptr(), xx.ptr(),
                    ww.ptr(), (int) t, (int) inter, (int) k, o.rowStride(), xx.rowStride(), ww.rowStride());
            return;
        }
        matmul(g, xx, ww);
        siluMul(o, g);
    }

    /**
     * Where the matmul would run on the GEMV kernel (T <= 8, the shape's GEMV choice),
     * gemv_add_bf16 adds the product into the residual in its epilogue (bit-identical to matmul
     * into delta, then add); otherwise that pair.
     */
    @Override
    public void matmulAddResidual(Tensor residual, Tensor delta, Tensor x, Tensor w) {
        enter();
        CudaTensor r = bf16(residual, "matmulAddResidual"), xx = bf16(x, "matmulAddResidual"),
                ww = bf16(w, "matmulAddResidual");
        long t = xx.rows(), k = xx.cols(), n = ww.rows();
        if (ww.cols() != k || r.rows() != t || r.cols() != n) {
            throw shapeError("matmulAddResidual", "residual " + r + " += x " + xx + " · wᵀ " + ww);
        }
        if (fuseResidualAdd && t > 0 && n > 0 && gemvChosen(r, xx, ww)) {
            launch("gemv_add_bf16", gemvBlocks(n, GEMV_ROWS_PER_BLOCK), 1, GEMV_THREADS, 0,
                    () -> "matmulAddResidual(T=" + t + ",N=" + n + ",K=" + k + ")", r.ptr(), xx.ptr(), ww.ptr(),
                    (int) t, (int) n, (int) k, r.rowStride(), xx.rowStride(), ww.rowStride());
            return;
        }
        matmul(delta, x, w);
        add(residual, delta);
    }

    /**
     * Where the matmul would run on the GEMV kernel, gemv_norm_bf16 norms the residual in its
     * prologue (bit-identical to rmsNorm into normed, then the GEMV); otherwise that pair.
     */
    @Override
    public void rmsNormMatmul(Tensor out, Tensor normed, Tensor residual, Tensor normWeight, float eps, Tensor w) {
        enter();
        CudaTensor o = bf16(out, "rmsNormMatmul"), r = bf16(residual, "rmsNormMatmul"),
                nw = bf16(normWeight, "rmsNormMatmul"), ww = bf16(w, "rmsNormMatmul");
        long t = r.rows(), k = r.cols(), n = ww.rows();
        if (ww.cols() != k || o.rows() != t || o.cols() != n || nw.numel() != k) {
            throw shapeError("rmsNormMatmul", "out " + o + " = rmsNorm(residual " + r + ", weight " + nw + ") · wᵀ " + ww);
        }
        if (normFuses(o, r, nw, ww)) {
            launch("gemv_norm_bf16", normGemvBlocks(n, GEMV_ROWS_PER_BLOCK), 1, GEMV_THREADS, gemvNormSmemBytes(t, k),
                    () -> "rmsNormMatmul(T=" + t + ",N=" + n + ",K=" + k + ")", o.ptr(), r.ptr(), nw.ptr(), ww.ptr(),
                    (int) t, (int) n, (int) k, o.rowStride(), r.rowStride(), ww.rowStride(), eps, normThreads(k));
            return;
        }
        rmsNorm(normed, residual, normWeight, eps);
        matmul(out, normed, w);
    }

    /**
     * Where matmulSiluMul would run gemv_swiglu_bf16, gemv_norm_swiglu_bf16 norms the residual in
     * its prologue (bit-identical to rmsNorm into normed, then matmulSiluMul); otherwise that pair.
     */
    @Override
    public void rmsNormMatmulSiluMul(Tensor out, Tensor gu, Tensor normed, Tensor residual, Tensor normWeight,
                                     float eps, Tensor gateUp) {
        enter();
        CudaTensor o = bf16(out, "rmsNormMatmulSiluMul"), r = bf16(residual, "rmsNormMatmulSiluMul"),
                nw = bf16(normWeight, "rmsNormMatmulSiluMul"), ww = bf16(gateUp, "rmsNormMatmulSiluMul");
        long t = r.rows(), k = r.cols(), inter = o.cols();
        if (ww.cols() != k || ww.rows() != 2 * inter || o.rows() != t || nw.numel() != k) {
            throw shapeError("rmsNormMatmulSiluMul", "out " + o + " = silu·mul(rmsNorm(residual " + r + ", weight "
                    + nw + ") · gateUpᵀ " + ww + ")");
        }
        if (fuseSwiGlu && inter > 0 && normFuses(bf16(gu, "rmsNormMatmulSiluMul"), r, nw, ww)) {
            launch("gemv_norm_swiglu_bf16", normGemvBlocks(inter, GEMV_ROWS_PER_BLOCK / 2), 1, GEMV_THREADS,
                    gemvNormSmemBytes(t, k), () -> "rmsNormMatmulSiluMul(T=" + t + ",I=" + inter + ",K=" + k + ")",
                    o.ptr(), r.ptr(), nw.ptr(), ww.ptr(), (int) t, (int) inter, (int) k, o.rowStride(), r.rowStride(),
                    ww.rowStride(), eps, normThreads(k));
            return;
        }
        rmsNorm(normed, residual, normWeight, eps);
        matmulSiluMul(out, gu, normed, gateUp);
    }

    /**
     * Whether gemv_norm_* may take rmsNorm(residual) · wᵀ (out: the product's [T, N] output): the
     * GEMV is the shape's choice (gemvChosen), the residual rows and the norm weight are whole 16-byte words (rms_norm_bf16's
     * vectorized path, whose bits the prologue repeats), and the T normed rows fit the shared memory.
     */
    private boolean normFuses(CudaTensor out, CudaTensor residual, CudaTensor normWeight, CudaTensor w) {
        long t = residual.rows(), k = residual.cols();
        return fuseNorm && t > 0 && w.rows() > 0 && gemvChosen(out, residual, w) && residual.rowStride() % 8 == 0
                && normWeight.ptr() % 16 == 0 && gemvNormSmemBytes(t, k) <= GEMV_NORM_SMEM_MAX;
    }

    /**
     * gemv_norm_*'s dynamic shared memory: t normed rows of gemv_norm_stride(k) bf16 (gemv.cu: k
     * rounded up to 64, plus 32, so two tokens' rows fall in different banks).
     */
    static int gemvNormSmemBytes(long t, long k) {
        return (int) Math.min(Integer.MAX_VALUE, t * (((k + 63) & ~63L) + 32) * 2);
    }

    /**
     * Dynamic shared memory gemv_norm_* may ask for: a launch gets 48 KiB in all without opting in
     * to more (cuFuncSetAttribute), and the kernels' static arrays take 9,248 bytes of it (ptxas
     * -v, sm_90a); 38 KiB leaves room for them: T = 4 at K = 4096, 2 at 8192. (41,280 dynamic
     * bytes, T = 5 at K = 4096, failed to launch on the H100: docs/results/2026-11-26-s4-run6-tests.)
     */
    static final int GEMV_NORM_SMEM_MAX = 38 << 10;

    private static int gemvBlocks(long rows, int perBlock) {
        return (int) ((rows + perBlock - 1) / perBlock);
    }

    /** gemv_norm_*'s grid: one block per tile, or normGemvBlocksPerSm per SM where that is fewer. */
    private int normGemvBlocks(long rows, int perBlock) {
        int tiles = gemvBlocks(rows, perBlock);
        return normGemvBlocksPerSm <= 0 ? tiles : (int) Math.min(tiles, (long) normGemvBlocksPerSm * smCount);
    }

    /** The GEMV kernel (gemv.cu): 8 warps per block, all on the block's 16 rows, each a share of K. */
    private static final int GEMV_THREADS = 256;
    private static final int GEMV_ROWS_PER_BLOCK = 16;

    /** T <= 8, K a multiple of 8, 16-byte aligned rows of x and w (gemv.cu's vector loads). */
    private boolean gemvApplies(CudaTensor o, CudaTensor x, CudaTensor w) {
        long t = x.rows(), k = x.cols();
        return gemvMode != GemvMode.OFF && t >= 1 && t <= 8 && k % 8 == 0 && k <= Integer.MAX_VALUE
                && w.rows() <= Integer.MAX_VALUE && x.ptr() % 16 == 0 && (t == 1 || x.rowStride() % 8 == 0)
                && w.ptr() % 16 == 0 && w.rowStride() % 8 == 0;
    }

    /**
     * Whether this shape runs on the GEMV kernel: always with GemvMode.ON; with AUTO, the faster
     * of GEMV and cuBLASLt as timed at the shape's first eager use (a captured step that meets a
     * new shape takes the GEMV without timing, and does not remember it).
     */
    private boolean useGemv(long t, long n, long k, DType out, Runnable cublas, Runnable gemv) {
        Boolean known = gemvChoiceKnown(t, n, k, out);
        if (known != null) {
            return known;
        }
        String key = gemvKey(t, n, k, out);
        double[] ms = timeAgainstEachOther(cublas, gemv);
        // Timed alone, each kernel pays its own ramp and drain; in a step under programmatic
        // launch the GEMV overlaps them with its neighbours and cuBLASLt's kernel (launched plainly)
        // does not. So AUTO keeps the GEMV unless cuBLASLt is clearly faster: on the H100 a graphed
        // bs1 step with the GEMV for every matmul took 6.222 ms against 6.336 ms for the plain
        // timed choice, which had given gate_up (0.5 % faster) and down (5 % faster) to cuBLASLt.
        boolean g = ms[1] < ms[0] * (kernels.programmaticLaunch() ? GEMV_PDL_ADVANTAGE : 1.0);
        gemvChoice.put(key, g);
        gemvTimings.add(String.format(Locale.ROOT, "T=%d N=%d K=%d out=%s: cuBLASLt %.1f us, GEMV %.1f us -> %s",
                t, n, k, out, ms[0] * 1000, ms[1] * 1000, g ? "GEMV" : "cuBLASLt"));
        return g;
    }

    /**
     * Whether the GEMV kernel is the known choice for out [T, w.rows] = x · wᵀ (bf16 out): it
     * applies (gemvApplies) and the shape's timed or forced choice is the GEMV. The fused GEMV
     * ops run only then; until a shape is timed (its first eager matmul) they run their pairs.
     */
    private boolean gemvChosen(CudaTensor out, CudaTensor x, CudaTensor w) {
        return gemvApplies(out, x, w) && Boolean.TRUE.equals(gemvChoiceKnown(x.rows(), w.rows(), x.cols(), DType.BF16));
    }

    /** useGemv's answer where it needs no timing: ON, a remembered choice, or GEMV during a capture; else null. */
    private Boolean gemvChoiceKnown(long t, long n, long k, DType out) {
        if (gemvMode == GemvMode.ON) {
            return true;
        }
        Boolean choice = gemvChoice.get(gemvKey(t, n, k, out));
        return choice == null && graphMode != GraphMode.EAGER ? Boolean.TRUE : choice;
    }

    private static String gemvKey(long t, long n, long k, DType out) {
        return t + "x" + n + "x" + k + ":" + out;
    }

    /**
     * Decode-step token counts whose cuBLASLt products are timed: the graph runner's capture sizes
     * past the GEMV's T <= 8 are all multiples of 8 up to 256, and only a bounded set of T may
     * pay a timing (mixed prefill steps have any T: they keep the heuristic's first choice).
     */
    private static boolean tunedT(long t) {
        return t > 8 && t <= 256 && t % 8 == 0;
    }

    /**
     * At the first eager use of a decode-sized product, times every algorithm cuBLASLt's heuristic
     * offered (up to 8, L2 flushed before each run) and keeps the fastest: the heuristic's first
     * pick is a model's guess for skinny, memory-bound shapes. -Djlight.cuda.tuneMatmul=false
     * keeps the heuristic's first choice.
     */
    private void tuneMatmul(Matmul.Product p, String what) {
        if (matmul.timed(p, what)) {
            return;
        }
        int n = matmul.candidates(p, what);
        if (n < 2) {
            matmul.choose(p, 0, what);
            return;
        }
        List<Runnable> runs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int c = i;
            runs.add(() -> matmul.runCandidate(p, c, what));
        }
        double[] ms = timeEach(runs);
        int fastest = 0;
        for (int i = 1; i < n; i++) {
            fastest = ms[i] < ms[fastest] ? i : fastest;
        }
        int best = ms[fastest] <= ms[0] * (1 - TUNE_MIN_GAIN) ? fastest : 0;
        matmul.choose(p, best, what);
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "T=%d N=%d K=%d: heuristic's first %.1f us",
                p.t(), p.n(), p.k(), ms[0] * 1000));
        sb.append(best == 0 ? String.format(Locale.ROOT, ", kept (fastest of %d: %.1f us)", n, ms[fastest] * 1000)
                : String.format(Locale.ROOT, ", candidate %d of %d %.1f us (%.1f%% faster)", best, n, ms[best] * 1000,
                        100 * (1 - ms[best] / ms[0])));
        matmulTunings.add(sb.toString());
    }

    /**
     * How much faster (alone) another candidate must be to replace the heuristic's first: at T=32
     * on the H100, candidates 0.2-0.7 % faster alone made the graphed step 0.8 % slower (7.846 vs
     * 7.782 ms, docs/results/2026-11-26-s4-run5-bench-gptfast), while the 2-8 % wins at T=64-256
     * held in the step (batch 128: 10.817 vs 11.108 ms).
     */
    private static final double TUNE_MIN_GAIN = 0.03;

    /** What {@link #tuneMatmul} measured and chose, one line per product timed. */
    public List<String> matmulTunings() {
        return List.copyOf(matmulTunings);
    }

    /** false: no timing, and every cuBLASLt product runs the heuristic's first choice again. */
    public void setTuneMatmuls(boolean on) {
        this.tuneMatmuls = on;
        matmul.setUseChosen(on);
    }

    public boolean tuneMatmuls() {
        return tuneMatmuls;
    }

    /** How much slower (alone) the GEMV may be and still be chosen under programmatic launch. */
    private static final double GEMV_PDL_ADVANTAGE = 1.10;
    private static final int TUNE_RUNS = 5;
    private static final long L2_FLUSH_BYTES = 128L << 20;

    /**
     * Median device time (ms) of a and of b, each run TUNE_RUNS times after one untimed run, with
     * L2 overwritten (a memset of 128 MiB) before every timed run so that weights come from HBM.
     */
    private double[] timeAgainstEachOther(Runnable a, Runnable b) {
        return timeEach(List.of(a, b));
    }

    /** Median device time (ms) of each of {@code runs}, as {@link #timeAgainstEachOther}. */
    private double[] timeEach(List<Runnable> runs) {
        int n = runs.size();
        CudaTensor flush = null;
        if (arena.largestFree() >= L2_FLUSH_BYTES + (64L << 20)) { // a full arena (KV cache) times without the flush
            flush = newTensor(DType.BF16, new long[] {L2_FLUSH_BYTES / 2}, DeviceArena.Purpose.WORKSPACE,
                    "L2 flush for GEMV timing");
        }
        MemorySegment[] ev = new MemorySegment[2 * n * TUNE_RUNS];
        try {
            for (int i = 0; i < ev.length; i++) {
                ev[i] = driver.eventCreate();
            }
            runs.forEach(Runnable::run);
            for (int i = 0; i < TUNE_RUNS; i++) {
                for (int which = 0; which < n; which++) {
                    if (flush != null) {
                        driver.memsetD8Async(flush.ptr(), i, L2_FLUSH_BYTES, stream);
                    }
                    driver.eventRecord(ev[2 * (n * i + which)], stream);
                    runs.get(which).run();
                    driver.eventRecord(ev[2 * (n * i + which) + 1], stream);
                }
            }
            syncStream();
            double[] median = new double[n];
            for (int which = 0; which < n; which++) {
                double[] ms = new double[TUNE_RUNS];
                for (int i = 0; i < TUNE_RUNS; i++) {
                    ms[i] = driver.eventElapsedMs(ev[2 * (n * i + which)], ev[2 * (n * i + which) + 1]);
                }
                Arrays.sort(ms);
                median[which] = ms[TUNE_RUNS / 2];
            }
            return median;
        } finally {
            for (MemorySegment e : ev) {
                if (e != null) {
                    driver.eventDestroy(e);
                }
            }
            if (flush != null) {
                flush.storage().release();
            }
        }
    }

    /** What AUTO decided for each GEMV-eligible shape so far, with the timings ("T=1 N=4096 ...: GEMV"). */
    public List<String> gemvDecisions() {
        return List.copyOf(gemvTimings);
    }

    public void setGemvMode(GemvMode mode) {
        this.gemvMode = mode;
    }

    public GemvMode gemvMode() {
        return gemvMode;
    }

    /** A cuBLASLt matmul, through the graph recorder. */
    private void cublasMatmul(long out, int outType, long ldo, long x, long ldx, long w, long ldw, long t, long n,
                              long k, String what) {
        if (graphMode == GraphMode.EAGER) {
            if (tuneMatmuls && tunedT(t)) {
                tuneMatmul(new Matmul.Product(out, outType, ldo, x, ldx, w, ldw, t, n, k), what);
            }
            matmul.run(out, outType, ldo, x, ldx, w, ldw, t, n, k, what);
            kernels.syncAfter(() -> what);
            return;
        }
        dispatch(new CudaGraph.Op(CudaGraph.MATMUL, 0, 0, 0, 0,
                new Object[] {out, outType, ldo, x, ldx, w, ldw, t, n, k}, () -> what));
    }

    @Override
    public void addBias(Tensor x, Tensor bias) {
        enter();
        CudaTensor xx = cuda(x, "addBias"), b = bf16(bias, "addBias");
        long rows = xx.rows(), cols = xx.cols();
        if (b.numel() != cols) {
            throw shapeError("addBias", "x " + xx + ", bias " + b);
        }
        if (rows == 0) {
            return;
        }
        launch(floatKernel("add_bias", xx), gridX(cols, rows), gridY(rows), 256, 0,
                () -> "addBias(T=" + rows + ",N=" + cols + ")", xx.ptr(), b.ptr(), (int) rows, (int) cols,
                xx.rowStride());
    }

    @Override
    public void add(Tensor x, Tensor y) {
        enter();
        CudaTensor xx = cuda(x, "add"), yy = cuda(y, "add");
        long rows = xx.rows(), cols = xx.cols();
        if (yy.dtype() != xx.dtype() || yy.rows() != rows || yy.cols() != cols) {
            throw shapeError("add", "x " + xx + ", y " + yy);
        }
        if (rows == 0) {
            return;
        }
        launch(floatKernel("add", xx), gridX(cols, rows), gridY(rows), 256, 0,
                () -> "add(T=" + rows + ",N=" + cols + ")", xx.ptr(), yy.ptr(), (int) rows, (int) cols,
                xx.rowStride(), yy.rowStride());
    }

    @Override
    public void scale(Tensor x, float s) {
        enter();
        CudaTensor xx = cuda(x, "scale");
        long rows = xx.rows(), cols = xx.cols();
        if (rows == 0) {
            return;
        }
        launch(floatKernel("scale", xx), gridX(cols, rows), gridY(rows), 256, 0,
                () -> "scale(T=" + rows + ",N=" + cols + ")", xx.ptr(), s, (int) rows, (int) cols, xx.rowStride());
    }

    @Override
    public void rope(Tensor q, Tensor k, Tensor positions, RopeSpec rope, int numHeads, int numKvHeads) {
        enter();
        CudaTensor qq = bf16(q, "rope"), kk = bf16(k, "rope"), pos = cuda(positions, "rope");
        long t = checkRope("rope", qq, kk, pos, rope, numHeads, numKvHeads);
        int hd = rope.headDim();
        if (t == 0) {
            return;
        }
        CudaTensor inv = invFreq(rope);
        long posStride = pos.rank() == 1 ? 1 : pos.rowStride();
        // blocks y over the (head, pair) pairs: 20 blocks of 128 for Llama-8B's 40 heads of 64 pairs
        int pairs = (numHeads + numKvHeads) * (rope.rotaryDim() / 2);
        int ropeY = (int) Math.max(1, Math.min((pairs + 127) / 128, 65535));
        launch("rope_neox_bf16", (int) Math.min(t, 1 << 20), ropeY, 128, 0,
                () -> "rope(T=" + t + ",heads=" + numHeads + "/" + numKvHeads + ",D=" + hd + ")", qq.ptr(), kk.ptr(),
                pos.ptr(), inv.ptr(), (int) t, numHeads, numKvHeads, hd, rope.rotaryDim(), qq.rowStride(),
                kk.rowStride(), posStride);
    }

    /** Checks rope's operands (I32 positions, one per token; q and k of the spec's head dim); returns T. */
    private long checkRope(String op, CudaTensor qq, CudaTensor kk, CudaTensor pos, RopeSpec rope, int numHeads,
                           int numKvHeads) {
        requireDType(op, "positions", pos, DType.I32);
        long t = qq.rows();
        int hd = rope.headDim();
        if (qq.cols() != (long) numHeads * hd || kk.cols() != (long) numKvHeads * hd || kk.rows() != t
                || pos.numel() != t || rope.rotaryDim() > hd || rope.rotaryDim() % 2 != 0) {
            throw shapeError(op, "q " + qq + ", k " + kk + ", positions " + pos + ", " + numHeads + "/"
                    + numKvHeads + " heads of " + hd + " (rotary " + rope.rotaryDim() + ")");
        }
        return t;
    }

    /**
     * Fused unless -Djlight.cuda.fuseRopeKv=false (or {@link #setFuseRopeKv}): rope_write_kv_bf16
     * rotates q and k and writes the cache rows in one launch.
     */
    @Override
    public void ropeAndWriteKv(Tensor q, Tensor k, Tensor v, Tensor positions, RopeSpec rope, int numHeads,
                               int numKvHeads, KvCache cache, int layer, AttentionMetadata meta) {
        enter();
        if (!fuseRopeKv) {
            rope(q, k, positions, rope, numHeads, numKvHeads);
            writeKv(cache, layer, k, v, meta);
            return;
        }
        String op = "ropeAndWriteKv";
        CudaTensor qq = bf16(q, op), kk = bf16(k, op), vv = bf16(v, op), pos = cuda(positions, op);
        long t = checkRope(op, qq, kk, pos, rope, numHeads, numKvHeads);
        CudaKvCache c = cache(cache);
        KvCacheSpec spec = c.spec();
        if (spec.headDim() != rope.headDim() || spec.numKvHeads() != numKvHeads) {
            throw shapeError(op, "rope of " + numKvHeads + " kv heads of " + rope.headDim() + " over a KV cache of "
                    + spec.numKvHeads() + " heads of " + spec.headDim());
        }
        long kvDim = checkKvRows(op, spec, kk, vv, meta);
        if (t == 0) {
            return;
        }
        StepMeta m = stepMeta(meta, spec);
        CudaTensor inv = invFreq(rope);
        long posStride = pos.rank() == 1 ? 1 : pos.rowStride();
        long items = (long) numHeads * (rope.rotaryDim() / 2) + numKvHeads * (rope.rotaryDim() / 2)
                + (long) numKvHeads * (rope.headDim() - rope.rotaryDim()) + kvDim;
        int y = (int) Math.max(1, Math.min((items + 127) / 128, 65535));
        int hd = rope.headDim();
        launch("rope_write_kv_bf16", (int) Math.min(t, 1 << 20), y, 128, 0,
                () -> "ropeAndWriteKv(layer=" + layer + ",T=" + t + ",heads=" + numHeads + "/" + numKvHeads + ",D="
                        + hd + ")", qq.ptr(), kk.ptr(), vv.ptr(), c.kPool(layer), c.vPool(layer), pos.ptr(),
                m.slotMapping(), inv.ptr(), (int) t, numHeads, numKvHeads, hd, rope.rotaryDim(), qq.rowStride(),
                kk.rowStride(), vv.rowStride(), posStride);
    }

    /** Whether {@link #ropeAndWriteKv} runs the fused kernel (benchmarks compare both). */
    public void setFuseRopeKv(boolean fuse) {
        this.fuseRopeKv = fuse;
    }

    /** Benchmarks compare the RMSNorm inside the GEMVs' prologue with the separate norm kernel. */
    public void setFuseNorm(boolean fuse) {
        this.fuseNorm = fuse;
    }

    public boolean fuseNorm() {
        return fuseNorm;
    }

    /** Benchmarks compare the residual add in the GEMVs' epilogue with a separate add. */
    public void setFuseResidualAdd(boolean fuse) {
        this.fuseResidualAdd = fuse;
    }

    public boolean fuseResidualAdd() {
        return fuseResidualAdd;
    }

    /** See normGemvBlocksPerSm: 0 gives gemv_norm_* one block per row tile. */
    public void setNormGemvBlocksPerSm(int blocksPerSm) {
        if (blocksPerSm < 0) {
            throw new IllegalArgumentException("normGemvBlocksPerSm " + blocksPerSm + " < 0");
        }
        this.normGemvBlocksPerSm = blocksPerSm;
    }

    public int normGemvBlocksPerSm() {
        return normGemvBlocksPerSm;
    }

    /** Benchmarks compare the fused gate/up + silu·mul GEMV with the pair. */
    public void setFuseSwiGlu(boolean fuse) {
        this.fuseSwiGlu = fuse;
    }

    /** K/V rows per decode-attention block prefetched into L2 before its PDL wait (0: none). */
    public void setAttentionPrefetch(int rows) {
        if (rows < 0) {
            throw new IllegalArgumentException("attentionPrefetch " + rows + " < 0");
        }
        this.decodePrefetchRows = rows;
    }

    public int attentionPrefetch() {
        return decodePrefetchRows;
    }

    public boolean fuseRopeKv() {
        return fuseRopeKv;
    }

    /** RopeSpec.inverseFrequencies() uploaded once per spec. */
    private CudaTensor invFreq(RopeSpec rope) {
        CudaTensor t = invFreqs.get(rope);
        if (t == null) {
            float[] inv = rope.inverseFrequencies();
            t = newTensor(DType.F32, new long[] {inv.length}, DeviceArena.Purpose.WEIGHTS, "rope inverse frequencies");
            copyToDevice(t.ptr(), MemorySegment.ofArray(inv), inv.length * 4L);
            invFreqs.put(rope, t);
        }
        return t;
    }

    @Override
    public void siluMul(Tensor out, Tensor gateUp) {
        enter();
        CudaTensor o = bf16(out, "siluMul"), g = bf16(gateUp, "siluMul");
        long rows = o.rows(), inter = o.cols();
        if (g.rows() != rows || g.cols() != 2 * inter) {
            throw shapeError("siluMul", "out " + o + ", gateUp " + g);
        }
        if (rows == 0) {
            return;
        }
        launch("silu_mul_bf16", gridX(inter, rows), gridY(rows), 256, 0,
                () -> "siluMul(T=" + rows + ",I=" + inter + ")", o.ptr(), g.ptr(), (int) rows, (int) inter,
                o.rowStride(), g.rowStride());
    }

    @Override
    public void moeTopK(Tensor topIds, Tensor topWeights, Tensor routerLogits, int k, boolean renormalize) {
        enter();
        moe.topK(topIds, topWeights, routerLogits, k, renormalize);
    }

    @Override
    public void moeExperts(Tensor out, Tensor x, Tensor gateUp, Tensor down, Tensor topIds, Tensor topWeights,
                           int numExperts) {
        enter();
        moe.experts(out, x, gateUp, down, topIds, topWeights, numExperts);
    }

    @Override
    public void writeKv(KvCache cache, int layer, Tensor k, Tensor v, AttentionMetadata meta) {
        enter();
        CudaKvCache c = cache(cache);
        CudaTensor kk = bf16(k, "writeKv"), vv = bf16(v, "writeKv");
        KvCacheSpec spec = c.spec();
        long kvDim = checkKvRows("writeKv", spec, kk, vv, meta);
        long t = meta.numTokens();
        if (t == 0) {
            return;
        }
        StepMeta m = stepMeta(meta, spec);
        launch("write_kv_bf16", (int) Math.min(t, 1 << 20), 1, 256, 0,
                () -> "writeKv(layer=" + layer + ",T=" + t + ",kvDim=" + kvDim + ")", c.kPool(layer), c.vPool(layer),
                kk.ptr(), vv.ptr(), m.slotMapping(), (int) t, (int) kvDim, kk.rowStride(), vv.rowStride());
    }

    /** Checks that k and v hold one row of the cache's kv dims per token of meta; returns kvDim. */
    private static long checkKvRows(String op, KvCacheSpec spec, CudaTensor kk, CudaTensor vv, AttentionMetadata meta) {
        long kvDim = (long) spec.numKvHeads() * spec.headDim();
        long t = meta.numTokens();
        if (kk.cols() != kvDim || vv.cols() != kvDim || kk.rows() != t || vv.rows() != t) {
            throw shapeError(op, "k " + kk + ", v " + vv + " for " + t + " tokens of " + kvDim + " kv dims");
        }
        return kvDim;
    }

    @Override
    public void attention(Tensor out, Tensor q, KvCache cache, int layer, AttentionMetadata meta, int numHeads,
                          float scale) {
        enter();
        CudaKvCache c = cache(cache);
        CudaTensor o = bf16(out, "attention"), qq = bf16(q, "attention");
        KvCacheSpec spec = c.spec();
        int hd = spec.headDim();
        long t = meta.numTokens();
        if (numHeads % spec.numKvHeads() != 0 || qq.cols() != (long) numHeads * hd || o.cols() != qq.cols()
                || qq.rows() != t || o.rows() != t) {
            throw shapeError("attention", "out " + o + ", q " + qq + " for " + t + " tokens, " + numHeads
                    + " heads of " + hd + " over " + spec.numKvHeads() + " kv heads");
        }
        if (t == 0) {
            return;
        }
        if (t > 65535) {
            throw new JLightException("attention: " + t + " tokens in one step; the kernel takes at most 65535");
        }
        StepMeta m = stepMeta(meta, spec);
        int group = numHeads / spec.numKvHeads();
        int kvHeads = spec.numKvHeads();
        int threads = 32 * ATTN_WARPS;
        AttentionKernel kind = attentionKernel;
        boolean flashFits = (hd == 64 || hd == 128) && o.rowStride() % 2 == 0 && qq.rowStride() % 2 == 0;
        if (kind == AttentionKernel.AUTO) {
            kind = flashFits && t >= FLASH_MIN_TOKENS ? AttentionKernel.FLASH : AttentionKernel.DECODE;
        }
        if (kind == AttentionKernel.FLASH && !flashFits) {
            kind = AttentionKernel.DECODE;
        }
        boolean tc = decodeAttention == DecodeAttention.TC && tcDecodeFits(hd, group, qq);
        if (kind == AttentionKernel.DECODE && !tc && !decodeFits(hd, group, qq)) {
            kind = AttentionKernel.SPLIT;
        }
        if (kind == AttentionKernel.SPLIT) {
            kind = group <= 8 ? AttentionKernel.SPLIT : AttentionKernel.SIMPLE;
        } else if (kind == AttentionKernel.GROUPED && group != 2 && group != 4 && group != 8) {
            kind = AttentionKernel.SIMPLE;
        }
        AttentionKernel used = kind;
        String usedName = used == AttentionKernel.DECODE && tc ? "DECODE_TC" : used.name();
        Supplier<String> what = () -> "attention(layer=" + layer + ",T=" + t + ",seqs=" + meta.numSeqs() + ",heads="
                + numHeads + "/" + kvHeads + ",D=" + hd + ",maxSeqLen=" + meta.maxSeqLen() + "," + usedName + ")";
        // the grid is sized for a context bound: the step's longest sequence, or in a captured
        // step the graph's bound (lengths themselves are read on the device)
        int bound = graphMode != GraphMode.EAGER ? Math.max(graph.maxContext, meta.maxSeqLen()) : meta.maxSeqLen();
        switch (kind) {
            case DECODE -> {
                SplitPlan plan = forcedDecodeSplit > 0 ? SplitPlan.fixed(bound, forcedDecodeSplit)
                        : SplitPlan.of(bound, (long) kvHeads * t, smCount);
                long part = 0, counters = 0;
                if (plan.maxSplits() > 1) {
                    long bytes = (long) t * numHeads * plan.maxSplits() * (hd + 2L) * 4;
                    if (!roomForPartials(bytes)) {
                        plan = SplitPlan.whole(bound); // no room for partials (a full arena): no split
                    }
                    if (plan.maxSplits() > 1) {
                        part = splitPartials(bytes);
                        counters = decodeCounters(t * kvHeads);
                    }
                }
                // both kernels: the warps' online-softmax state (attention_merge.cuh's layout)
                int smem = ATTN_WARPS * group * (hd + 2) * 4;
                String family = tc ? "paged_attention_decode_tc_d" : "paged_attention_decode_d";
                launch(family + hd + "_g" + group + "_bf16", kvHeads * plan.maxSplits(), (int) t,
                        threads, smem, what, o.ptr(), part, counters, qq.ptr(), c.kPool(layer), c.vPool(layer),
                        m.queryStart(), m.seqLens(), m.blockTables(), m.tokenSeq(), kvHeads, spec.blockSize(),
                        m.maxBlocks(), scale, o.rowStride(), qq.rowStride(), plan.splitSize(), plan.maxSplits(),
                        (int) t, plan.maxSplits() > 1 ? decodePrefetchRows : 0);
            }
            case FLASH -> {
                int smem = 2 * FLASH_TILE * (hd + 8) * 2;
                launch("flash_attention_d" + hd + "_bf16", m.numTiles(), numHeads, threads, smem, what, o.ptr(),
                        qq.ptr(), c.kPool(layer), c.vPool(layer), m.queryStart(), m.seqLens(), m.blockTables(),
                        m.tileSeq(), m.tileStart(), kvHeads, group, spec.blockSize(), m.maxBlocks(), scale,
                        o.rowStride(), qq.rowStride());
            }
            case SPLIT -> {
                int splitSize = bound;
                int maxSplits = 1;
                if ((long) kvHeads * t < 2L * smCount) {
                    // few blocks: split the context so that the KV reads spread over the GPU
                    splitSize = Math.max(SPLIT_MIN, (int) roundUp((bound + SPLIT_MAX - 1) / SPLIT_MAX, SPLIT_MIN));
                    maxSplits = (bound + splitSize - 1) / splitSize;
                }
                long part = 0;
                if (maxSplits > 1) {
                    long bytes = (long) t * numHeads * maxSplits * (hd + 2L) * 4;
                    if (!roomForPartials(bytes)) { // a full arena: no split
                        splitSize = bound;
                        maxSplits = 1;
                    }
                    if (maxSplits > 1) {
                        part = splitPartials(bytes);
                    }
                }
                int p = hd <= 64 ? 1 : hd <= 128 ? 2 : 4;
                int smem = ATTN_WARPS * group * (hd + 2) * 4;
                launch("paged_attention_split_g" + group + "_p" + p + "_bf16", kvHeads * maxSplits, (int) t, threads,
                        smem, what, o.ptr(), part, qq.ptr(), c.kPool(layer), c.vPool(layer), m.queryStart(), m.seqLens(),
                        m.blockTables(), m.tokenSeq(), kvHeads, hd, spec.blockSize(), m.maxBlocks(), scale,
                        o.rowStride(), qq.rowStride(), splitSize, maxSplits, (int) t);
                if (maxSplits > 1) {
                    launch("attention_combine_bf16", numHeads, (int) t, 128, 0, what, o.ptr(), part, m.queryStart(),
                            m.seqLens(), m.tokenSeq(), numHeads, hd, splitSize, maxSplits, (int) t, o.rowStride());
                }
            }
            case GROUPED -> {
                // the query heads of one KV head together: K/V read once per group
                int smem = ATTN_WARPS * group * (hd + 2) * 4;
                launch("paged_attention_g" + group + "_bf16", kvHeads, (int) t, threads, smem, what,
                        o.ptr(), qq.ptr(), c.kPool(layer), c.vPool(layer), m.queryStart(), m.seqLens(), m.blockTables(),
                        m.tokenSeq(), kvHeads, hd, spec.blockSize(), m.maxBlocks(), scale, o.rowStride(),
                        qq.rowStride());
            }
            default -> {
                int smem = ATTN_WARPS * (hd + 2) * 4;
                launch("paged_attention_bf16", numHeads, (int) t, threads, smem, what, o.ptr(), qq.ptr(),
                        c.kPool(layer), c.vPool(layer), m.queryStart(), m.seqLens(), m.blockTables(), m.tokenSeq(),
                        numHeads, kvHeads, hd, spec.blockSize(), m.maxBlocks(), scale, o.rowStride(), qq.rowStride());
            }
        }
    }

    /** AUTO picks the flash kernel for steps of at least this many tokens (prefill). */
    private static final int FLASH_MIN_TOKENS = 512;

    /** Split-KV attention: at least this many positions per split, at most this many splits. */
    private static final int SPLIT_MIN = 64;
    private static final int SPLIT_MAX = 128;

    private static long roundUp(long v, long m) {
        return (v + m - 1) / m * m;
    }

    /** Head dims with a decode kernel instance (attention_decode.cu's DECODE_ATTENTION_D). */
    private static final Set<Integer> DECODE_HEAD_DIMS = Set.of(64, 80, 96, 128, 256);

    /** Head dims with a tensor-core decode kernel instance (attention_decode_tc.cu), groups 1..16. */
    private static final Set<Integer> TC_DECODE_HEAD_DIMS = Set.of(64, 128);
    private static final int TC_DECODE_MAX_GROUP = 16;

    /** The CUDA-core decode kernel: an instance for the head dim and group, 16-byte aligned rows of q. */
    private static boolean decodeFits(int hd, int group, CudaTensor q) {
        return DECODE_HEAD_DIMS.contains(hd) && group <= 8 && rowsAligned16(q);
    }

    /** The tensor-core decode kernel: an instance for the head dim and group, 16-byte aligned rows of q. */
    private static boolean tcDecodeFits(int hd, int group, CudaTensor q) {
        return TC_DECODE_HEAD_DIMS.contains(hd) && group <= TC_DECODE_MAX_GROUP && rowsAligned16(q);
    }

    private static boolean rowsAligned16(CudaTensor q) {
        return q.ptr() % 16 == 0 && q.rowStride() % 8 == 0;
    }

    /**
     * Tests and benchmarks: the DECODE attention on tensor cores (where it applies) or on CUDA
     * cores; the default is -Djlight.cuda.decodeAttention (tc). Graphs captured before keep the
     * kernel they captured (the bench A/Bs with a new CudaGraphRunner per setting).
     */
    public void setDecodeAttention(DecodeAttention kind) {
        this.decodeAttention = kind;
    }

    public DecodeAttention decodeAttention() {
        return decodeAttention;
    }

    /** Tests and benchmarks: every decode split {@code positions} long (0 restores the planned splits). */
    public void forceDecodeSplitSize(int positions) {
        this.forcedDecodeSplit = positions;
    }

    /** The decode kernel's split counters, at least {@code n}, zeroed when (re)allocated. */
    private long decodeCounters(long n) {
        if (decodeCounters == null || decodeCounters.numel() < n) {
            if (decodeCounters != null) {
                retire(decodeCounters);
            }
            long size = Math.max(n, 1L << 16);
            decodeCounters = newTensor(DType.I32, new long[] {size}, DeviceArena.Purpose.WORKSPACE,
                    "decode attention split counters");
            driver.memsetD8Async(decodeCounters.ptr(), 0, size * 4, stream);
        }
        return decodeCounters.ptr();
    }

    /** The split partials buffer, at least {@code bytes} (a larger one replaces it; the old one is retired). */
    private long splitPartials(long bytes) {
        splitPartials = growWorkspace(splitPartials, bytes, "split-KV attention partials");
        return splitPartials.ptr();
    }

    /** Whether a split kernel can have its partials: the buffer is big enough, or the arena has room to grow it. */
    private boolean roomForPartials(long bytes) {
        return (splitPartials != null && splitPartials.denseBytes() >= bytes)
                || arena.largestFree() >= Math.max(bytes, 4L << 20) + (16L << 20);
    }

    /**
     * Picks the attention kernel (tests and benchmarks compare them): AUTO is the default.
     */
    public void setAttentionKernel(AttentionKernel kind) {
        this.attentionKernel = kind;
    }

    public AttentionKernel attentionKernel() {
        return attentionKernel;
    }

    // ---- per-step attention metadata ----------------------------------------------------------

    /** Device copies of one step's AttentionMetadata (I32), uploaded once per step. */
    private record StepMeta(AttentionMetadata source, KvCacheSpec spec, CudaTensor buffer, long queryStart,
                            long seqLens, long blockTables, long slotMapping, long tokenSeq, int maxBlocks,
                            long tileSeq, long tileStart, int numTiles) {
    }

    /** Query tokens per flash-attention tile (attention_flash.cu's FLASH_BM). */
    private static final int FLASH_TILE = 64;

    private StepMeta stepMeta(AttentionMetadata meta, KvCacheSpec spec) {
        StepMeta m = stepMeta;
        if (m != null && m.source() == meta && m.spec().equals(spec)) {
            return m;
        }
        int s = meta.numSeqs(), t = meta.numTokens();
        int[] qs = meta.queryStart(), lens = meta.seqLens(), slots = meta.slotMapping();
        int[][] tables = meta.blockTables();
        if (meta.blockSize() != spec.blockSize()) {
            throw new JLightException("attention metadata has block size " + meta.blockSize() + ", KV cache "
                    + spec.blockSize());
        }
        int maxBlocks = 1;
        for (int[] tb : tables) {
            maxBlocks = Math.max(maxBlocks, tb.length);
        }
        int numTiles = 0;
        for (int i = 0; i < s; i++) {
            numTiles += (meta.queryLen(i) + FLASH_TILE - 1) / FLASH_TILE;
        }
        int[] all = new int[(s + 1) + s + s * maxBlocks + t + t + 2 * numTiles];
        System.arraycopy(qs, 0, all, 0, s + 1);
        System.arraycopy(lens, 0, all, s + 1, s);
        int bt = 2 * s + 1;
        int sm = bt + s * maxBlocks;
        int ts = sm + t;
        for (int i = 0; i < s; i++) {
            int qlen = meta.queryLen(i);
            int needed = (lens[i] + spec.blockSize() - 1) / spec.blockSize();
            if (qlen < 0 || lens[i] < qlen || needed > tables[i].length) {
                throw new JLightException("attention metadata: sequence " + i + " has " + qlen + " new tokens, "
                        + lens[i] + " in all and a block table of " + tables[i].length + " blocks of "
                        + spec.blockSize());
            }
            for (int j = 0; j < needed; j++) {
                if (tables[i][j] < 0 || tables[i][j] >= spec.numBlocks()) {
                    throw new JLightException("attention metadata: sequence " + i + " block " + j + " is "
                            + tables[i][j] + ", the KV cache has " + spec.numBlocks() + " blocks");
                }
            }
            System.arraycopy(tables[i], 0, all, bt + i * maxBlocks, tables[i].length);
            for (int tok = qs[i]; tok < qs[i + 1]; tok++) {
                all[ts + tok] = i;
            }
        }
        long slotsTotal = (long) spec.numBlocks() * spec.blockSize();
        for (int i = 0; i < t; i++) {
            if (slots[i] < -1 || slots[i] >= slotsTotal) {
                throw new JLightException("attention metadata: token " + i + " has slot " + slots[i]
                        + ", the KV cache has " + slotsTotal + " slots");
            }
        }
        System.arraycopy(slots, 0, all, sm, t);
        // flash-attention tiles: up to FLASH_TILE consecutive tokens of one sequence each
        int tsq = ts + t;
        int tst = tsq + numTiles;
        int tile = 0;
        for (int i = 0; i < s; i++) {
            for (int tok = qs[i]; tok < qs[i + 1]; tok += FLASH_TILE) {
                all[tsq + tile] = i;
                all[tst + tile] = tok;
                tile++;
            }
        }
        CudaTensor buf = m != null && m.buffer().numel() >= all.length ? m.buffer() : null;
        if (buf == null) {
            if (m != null) {
                retire(m.buffer());
            }
            buf = newTensor(DType.I32, new long[] {Math.max(all.length * 2L, 1024)}, DeviceArena.Purpose.WORKSPACE,
                    "attention metadata");
        }
        copyToDevice(buf.ptr(), MemorySegment.ofArray(all), all.length * 4L);
        long base = buf.ptr();
        stepMeta = new StepMeta(meta, spec, buf, base, base + 4L * (s + 1), base + 4L * bt, base + 4L * sm,
                base + 4L * ts, maxBlocks, base + 4L * tsq, base + 4L * tst, numTiles);
        return stepMeta;
    }

    // ---- tools for benchmarks and tests ------------------------------------------------------

    /** dst = src for two contiguous tensors of the same size (a device-to-device copy). */
    public void copy(Tensor dst, Tensor src) {
        enter();
        CudaTensor d = cuda(dst, "copy"), s = cuda(src, "copy");
        if (!d.isContiguous() || !s.isContiguous() || d.denseBytes() != s.denseBytes()) {
            throw new JLightException("copy: " + s + " to " + d + " needs two contiguous tensors of one size");
        }
        requireEager("copy");
        driver.memcpyDtoDAsync(d.ptr(), s.ptr(), s.denseBytes(), stream);
    }

    /**
     * Queues one read of every byte of the given tensors (their blocks merged into contiguous
     * ranges, a kernel per range) and returns the bytes read: the memory-read floor of a decode
     * step when the tensors are the model's weights. Time it with {@link #timeMs}.
     */
    public long readAll(List<? extends Tensor> tensors) {
        enter();
        requireEager("readAll");
        long[][] ranges = new long[tensors.size()][];
        int n = 0;
        for (Tensor t : tensors) {
            CudaTensor c = cuda(t, "readAll");
            long start = c.ptr() & ~15L;
            long end = (c.ptr() + c.denseBytes() + 15) & ~15L;
            ranges[n++] = new long[] {start, end};
        }
        Arrays.sort(ranges, 0, n, (a, b) -> Long.compare(a[0], b[0]));
        long bytes = 0;
        int i = 0;
        while (i < n) {
            long start = ranges[i][0], end = ranges[i][1];
            int j = i + 1;
            while (j < n && ranges[j][0] <= end + DeviceArena.ALIGN) {
                end = Math.max(end, ranges[j][1]);
                j++;
            }
            long words = (end - start) / 16;
            long s0 = start, e0 = end;
            launch("read_floor", (int) Math.min(4L * smCount, Math.max(1, (words + 511) / 512)), 1, 512, 0,
                    () -> "readAll(" + Long.toHexString(s0) + ".." + Long.toHexString(e0) + ")", start, words, 0L);
            bytes += end - start;
            i = j;
        }
        return bytes;
    }

    /**
     * Times {@code work} (which queues device work on this backend) with device events: after
     * {@code warmup} untimed runs, returns the milliseconds of each of {@code iterations} runs.
     */
    public double[] timeMs(Runnable work, int warmup, int iterations) {
        enter();
        for (int i = 0; i < warmup; i++) {
            work.run();
        }
        MemorySegment[] ev = new MemorySegment[iterations + 1];
        for (int i = 0; i <= iterations; i++) {
            ev[i] = driver.eventCreate();
        }
        try {
            driver.eventRecord(ev[0], stream);
            for (int i = 0; i < iterations; i++) {
                work.run();
                driver.eventRecord(ev[i + 1], stream);
            }
            driver.eventSynchronize(ev[iterations]);
            syncStream();
            double[] ms = new double[iterations];
            for (int i = 0; i < iterations; i++) {
                ms[i] = driver.eventElapsedMs(ev[i], ev[i + 1]);
            }
            return ms;
        } finally {
            for (MemorySegment e : ev) {
                driver.eventDestroy(e);
            }
        }
    }

    // ---- launches and CUDA graphs -------------------------------------------------------------

    /**
     * Every kernel launch of the backend goes through here: queued on the stream directly, or,
     * during a graph step, recorded (capture) or checked against the recording (replay).
     */
    void launch(String name, int gx, int gy, int bx, int smem, Supplier<String> what, Object... args) {
        if (graphMode == GraphMode.EAGER) {
            kernels.launch(name, gx, gy, bx, smem, what, args);
            return;
        }
        dispatch(new CudaGraph.Op(name, gx, gy, bx, smem, args, what));
    }

    private void dispatch(CudaGraph.Op op) {
        CudaGraph g = graph;
        if (graphMode == GraphMode.CAPTURE) {
            if (!capturing) {
                // the capture starts at the step's first op, after its uploads
                driver.streamBeginCapture(stream);
                capturing = true;
                kernels.setCapturing(true);
                g.metaPointers = metaPointers();
            }
            g.ops.add(op);
            run(op);
            return;
        }
        if (replayed < g.ops.size() && g.ops.get(replayed).sameAs(op)) {
            replayed++; // in the graph
            if (replayed == 1 && !g.readsWhatItWrites && Arrays.equals(g.metaPointers, metaPointers())) {
                // Launch the graph now, so the device runs the step while the host checks the
                // rest of the model's ops against the recording (launching it only at the end
                // would serialize the host's forward and the device's work). The inputs are
                // already uploaded (uploads come before the first op), and the step's metadata
                // sits where the graph reads it, so its K/V writes go to this step's slots. If a
                // later op differs, flushReplay reruns the whole step eagerly after the graph:
                // every step buffer is recomputed from the inputs, the K/V writes are rewritten
                // with the same values, and buffers the graph names are never handed out again
                // while it lives (retire).
                launchGraph(g);
                replayLaunched = true;
            }
            return;
        }
        flushReplay("op " + replayed + " is " + op.describe() + ", the graph has "
                + (replayed < g.ops.size() ? g.ops.get(replayed).describe() : "no more ops"));
        run(op);
    }

    private void run(CudaGraph.Op op) {
        Object[] a = op.args();
        if (op.name().equals(CudaGraph.MATMUL)) {
            String what = op.what().get();
            matmul.run((Long) a[0], (Integer) a[1], (Long) a[2], (Long) a[3], (Long) a[4], (Long) a[5], (Long) a[6],
                    (Long) a[7], (Long) a[8], (Long) a[9], what);
            kernels.syncAfter(op.what());
        } else {
            kernels.launch(op.name(), op.gx(), op.gy(), op.bx(), op.smem(), op.what(), a);
        }
    }

    /** A replayed step asked for other work than the graph holds: run what was skipped, go on eagerly. */
    private void flushReplay(String reason) {
        CudaGraph g = graph;
        g.stale = true;
        g.staleReason = reason;
        graphMode = GraphMode.EAGER;
        replayLaunched = false; // if the graph already ran, the ops below redo the step from its inputs
        for (int i = 0; i < replayed; i++) {
            run(g.ops.get(i));
        }
    }

    /**
     * Whether the decode kernels are launched with programmatic dependent launch (sm_90+, driver
     * with cuLaunchKernelEx, not turned off by -Djlight.cuda.pdl=false); see Kernels.PDL_KERNELS.
     */
    public boolean programmaticLaunch() {
        return kernels.programmaticLaunch();
    }

    /** For benchmarks comparing both; graphs captured before keep the setting they were captured with. */
    public void setProgrammaticLaunch(boolean on) {
        kernels.setProgrammaticLaunch(on);
    }

    /** Whether the driver has stream capture and graphs. */
    public boolean graphsSupported() {
        return driver.hasGraphs();
    }

    /** An empty graph for one step shape; {@code maxContext} bounds the context of the steps it serves. */
    CudaGraph newGraph(int maxContext) {
        return new CudaGraph(maxContext);
    }

    /**
     * Starts a step whose device work is captured into {@code g} ({@code capture}) or replayed
     * from it. The step's first op begins the capture; its download (or {@link #synchronize()})
     * ends it and launches the graph. Uploads must come before the first op (the metadata
     * through {@link #prepareStep}); in a replay, work that differs from the recording in any
     * way makes the backend run the step eagerly instead and marks the graph stale.
     */
    void graphBegin(CudaGraph g, boolean capture) {
        enter();
        if (graphMode != GraphMode.EAGER) {
            throw new IllegalStateException("graph step inside a graph step");
        }
        if (!capture && (!g.instantiated() || g.stale)) {
            throw new IllegalStateException("replay of " + g);
        }
        graph = g;
        replayed = 0;
        replayLaunched = false;
        capturing = false;
        if (capture) {
            g.ops.clear();
        }
        graphMode = capture ? GraphMode.CAPTURE : GraphMode.REPLAY;
    }

    /**
     * Ends the step begun by {@link #graphBegin}, after the model's forward returned or threw:
     * an unfinished capture is abandoned (nothing of it ran); an unfinished replay runs the work
     * matched so far. Never throws for an abandoned capture.
     */
    void graphEnd() {
        try {
            if (graphMode == GraphMode.CAPTURE) {
                graph.stale = true;
                graph.staleReason = "capture did not finish";
                if (capturing) {
                    capturing = false;
                    kernels.setCapturing(false);
                    try {
                        driver.graphDestroy(driver.streamEndCapture(stream));
                    } catch (RuntimeException e) {
                        // an invalidated capture: the stream is back to normal, nothing to destroy
                    }
                }
            } else if (graphMode == GraphMode.REPLAY) {
                flushReplay("the step ended after " + replayed + " of the graph's " + graph.ops.size() + " ops");
            }
        } finally {
            graphMode = GraphMode.EAGER;
            capturing = false;
            replayLaunched = false;
            kernels.setCapturing(false);
            graph = null;
        }
    }

    /** Ends the device work of a graph step: instantiates and launches a capture, launches a replay. */
    private void graphFinish() {
        if (graphMode == GraphMode.CAPTURE) {
            CudaGraph g = graph;
            graphMode = GraphMode.EAGER;
            if (capturing) {
                capturing = false;
                kernels.setCapturing(false);
                g.graph = driver.streamEndCapture(stream);
                try {
                    g.exec = driver.graphInstantiate(g.graph);
                } catch (RuntimeException e) {
                    driver.graphDestroy(g.graph);
                    g.graph = null;
                    throw e;
                }
                liveGraphs.add(g);
                launchGraph(g);
            }
        } else if (graphMode == GraphMode.REPLAY) {
            CudaGraph g = graph;
            if (replayed == g.ops.size()) {
                graphMode = GraphMode.EAGER;
                if (!replayLaunched) {
                    launchGraph(g);
                }
                replayLaunched = false;
            } else {
                flushReplay("the step asked for " + replayed + " of the graph's " + g.ops.size() + " ops");
            }
        }
    }

    private void launchGraph(CudaGraph g) {
        int r = driver.graphLaunch(g.exec, stream);
        if (r != 0) {
            throw new CudaException("cuGraphLaunch (" + g + ")", r, driver.errorName(r), driver.errorString(r));
        }
        g.launches++;
        if (kernels.syncEachLaunch()) {
            r = driver.streamSynchronizeRaw(stream);
            if (r != 0) {
                throw new CudaException("replay of " + g + " (run)", r, driver.errorName(r), driver.errorString(r));
            }
        }
    }

    /** Frees a graph's driver objects (after the work queued so far, which may be its replay). */
    void destroyGraph(CudaGraph g) {
        if (g.exec == null) {
            return;
        }
        enter();
        syncStream();
        driver.graphExecDestroy(g.exec);
        driver.graphDestroy(g.graph);
        g.exec = null;
        g.graph = null;
        liveGraphs.remove(g);
        if (liveGraphs.isEmpty()) {
            for (CudaTensor t : retired) {
                t.storage().release();
            }
            retired.clear();
        }
    }

    /** Where the current step's attention metadata lies on the device (what a graph's K/V writes and attention read). */
    private long[] metaPointers() {
        StepMeta m = stepMeta;
        if (m == null) {
            return null;
        }
        return new long[] {m.queryStart(), m.seqLens(), m.blockTables(), m.slotMapping(), m.tokenSeq(),
            m.maxBlocks(), m.tileSeq(), m.tileStart(), m.numTiles()};
    }

    /** Uploads a step's attention metadata now (before a captured step's first op). */
    void prepareStep(AttentionMetadata meta, KvCacheSpec spec) {
        enter();
        stepMeta(meta, spec);
    }

    /** A block replaced by a larger one: returned to the arena unless a graph may still name it. */
    private void retire(CudaTensor t) {
        if (liveGraphs.isEmpty() && graphMode == GraphMode.EAGER) {
            t.storage().release();
        } else {
            retired.add(t);
        }
    }

    /**
     * A step workspace of at least {@code bytes}: {@code current} when it is large enough, else a
     * new block (grown geometrically while the arena has room) and {@code current} retired.
     */
    CudaTensor growWorkspace(CudaTensor current, long bytes, String what) {
        if (current != null && current.denseBytes() >= bytes) {
            return current;
        }
        long size = roundUp(Math.max(bytes, 4L << 20), 4);
        if (current != null) {
            retire(current);
            if (2 * current.denseBytes() > size && arena.largestFree() > 2 * current.denseBytes() + (64L << 20)) {
                size = 2 * current.denseBytes();
            }
        }
        return newTensor(DType.F32, new long[] {size / 4}, DeviceArena.Purpose.WORKSPACE, what);
    }

    private void requireEager(String op) {
        if (graphMode != GraphMode.EAGER) {
            throw new IllegalStateException(op + " inside a CUDA graph step");
        }
    }

    private static <E extends Enum<E>> E parse(Class<E> type, String property, E fallback) {
        String v = System.getProperty(property);
        if (v == null || v.isBlank()) {
            return fallback;
        }
        try {
            return Enum.valueOf(type, v.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new JLightException("-D" + property + "=" + v + " is not one of "
                    + Arrays.toString(type.getEnumConstants()).toLowerCase(Locale.ROOT));
        }
    }

    // ---- device-event timelines (benchmarks) --------------------------------------------------

    /**
     * Device-side timing of labelled spans of queued work: {@link #begin()} and {@link #end}
     * record events on the backend's stream around the work; {@link #read()} waits and returns
     * each span's label and milliseconds. Events are created once and reused after
     * {@link #clear()}.
     */
    public final class Timeline implements AutoCloseable {
        public record Span(String label, double ms) {
        }

        private final List<MemorySegment> events = new ArrayList<>();
        private final List<String> labels = new ArrayList<>();
        private final List<Integer> ends = new ArrayList<>();
        private int used;

        private Timeline() {
        }

        /** Records a start event; returns its index for {@link #end}. */
        public int begin() {
            requireEager("timeline");
            return record();
        }

        /** Records the end event of the span started at {@code start}. */
        public void end(int start, String label) {
            int stop = record();
            while (labels.size() <= start) {
                labels.add(null);
                ends.add(-1);
            }
            labels.set(start, label);
            ends.set(start, stop);
        }

        private int record() {
            if (used == events.size()) {
                events.add(driver.eventCreate());
            }
            driver.eventRecord(events.get(used), stream);
            return used++;
        }

        /** Waits for the work and returns the spans in the order they were begun. */
        public List<Span> read() {
            syncStream();
            List<Span> out = new ArrayList<>();
            for (int i = 0; i < Math.min(labels.size(), used); i++) {
                if (labels.get(i) != null) {
                    out.add(new Span(labels.get(i), driver.eventElapsedMs(events.get(i), events.get(ends.get(i)))));
                }
            }
            return out;
        }

        public void clear() {
            used = 0;
            labels.clear();
            ends.clear();
        }

        @Override
        public void close() {
            syncStream();
            for (MemorySegment e : events) {
                driver.eventDestroy(e);
            }
            events.clear();
        }
    }

    public Timeline timeline() {
        enter();
        return new Timeline();
    }

    // ---- sync and close -----------------------------------------------------------------------

    @Override
    public void synchronize() {
        enter();
        graphFinish();
        syncStream();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        driver.setCurrent(context);
        CURRENT.set(context);
        try {
            graphMode = GraphMode.EAGER;
            if (capturing) {
                capturing = false;
                try {
                    driver.graphDestroy(driver.streamEndCapture(stream));
                } catch (RuntimeException e) {
                    // an invalidated capture: nothing to destroy
                }
            }
            syncStream();
            for (CudaGraph g : List.copyOf(liveGraphs)) {
                destroyGraph(g);
            }
        } finally {
            closed = true;
            if (chunkEvents != null) {
                for (MemorySegment e : chunkEvents) {
                    driver.eventDestroy(e);
                }
            }
            readbacks.close();
            matmul.close();
            driver.memFree(arenaBase);
            driver.memFreeHost(staging);
            driver.streamDestroy(stream);
            kernels.unload();
            host.close();
        }
    }

    // ---- helpers ------------------------------------------------------------------------------

    /** Makes this backend's context current on the calling thread. */
    private void enter() {
        if (closed) {
            throw new IllegalStateException("cuda backend is closed");
        }
        if (CURRENT.get() != context) {
            driver.setCurrent(context);
            CURRENT.set(context);
        }
    }

    private static int gridX(long cols, long rows) {
        long blocks = (cols + 255) / 256;
        long cap = Math.max(1, 4096 / Math.max(rows, 1));
        return (int) Math.max(1, Math.min(blocks, cap));
    }

    private static int gridY(long rows) {
        return (int) Math.min(rows, 65535);
    }

    private static String floatKernel(String base, CudaTensor x) {
        return switch (x.dtype()) {
            case BF16 -> base + "_bf16";
            case F32 -> base + "_f32";
            default -> throw new JLightException(base + ": " + x + " must be BF16 or F32");
        };
    }

    private static CudaTensor cuda(Tensor t, String op) {
        if (t instanceof CudaTensor c) {
            return c;
        }
        throw new JLightException(op + ": " + (t == null ? "null tensor" : "a " + t.getClass().getSimpleName()
                + " is not a cuda tensor"));
    }

    private static CudaTensor bf16(Tensor t, String op) {
        CudaTensor c = cuda(t, op);
        if (c.dtype() != DType.BF16) {
            throw new JLightException(op + ": cuda backend expects BF16 here, got " + c);
        }
        return c;
    }

    private static void requireDType(String op, String what, CudaTensor t, DType d) {
        if (t.dtype() != d) {
            throw new JLightException(op + ": " + what + " must be " + d + ", got " + t);
        }
    }

    private CudaKvCache cache(KvCache kv) {
        if (kv instanceof CudaKvCache c && c.owner() == this) {
            return c;
        }
        throw new JLightException("KV cache " + kv + " was not allocated by this cuda backend");
    }

    private static JLightException shapeError(String op, String detail) {
        return new JLightException(op + ": shapes do not fit: " + detail);
    }
}
