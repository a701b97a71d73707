package dev.jlight.cuda;

import dev.jlight.core.JLightException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The kernels of src/main/cuda, compiled by nvcc at build time into the resource
 * {@code dev/jlight/cuda/kernels.fatbin} and loaded as one module. {@link #launch} marshals the
 * arguments (Long → 8 bytes, Integer → 4, Float → 4, in the order of the kernel's C signature)
 * and names the kernel and the op's shape in any error.
 */
final class Kernels {
    static final String FATBIN = "kernels.fatbin";
    static final String PROPERTIES = "kernels.properties";
    private static final int MAX_ARGS = 32;
    private static final int RECENT = 8;

    private final CudaDriver driver;
    private final MemorySegment module;
    private final MemorySegment stream;
    private final Map<String, MemorySegment> functions = new HashMap<>();
    private final MemorySegment values;
    private final MemorySegment pointers;
    private final boolean syncEachLaunch;
    /**
     * The kernels written for programmatic dependent launch: each calls pdl_entry() (common.cuh)
     * before touching memory an earlier kernel wrote, so it may be launched while that kernel
     * still runs. Only these get the attribute: a kernel without pdl_entry() would read its
     * inputs before they are complete. PdlKernelSourcesTest checks each name against the sources.
     * The decode step's kernels: at batch 1 nearly all of its ~290 launches are these.
     */
    static final Set<String> PDL_KERNELS = Set.of("gemv_bf16", "gemv_f32", "gemv_swiglu_bf16", "gemv_add_bf16",
            "gemv_norm_bf16", "gemv_norm_swiglu_bf16", "rms_norm_bf16",
            "add_rms_norm_bf16", "rope_neox_bf16", "rope_write_kv_bf16", "silu_mul_bf16", "add_bias_bf16",
            "add_bias_f32", "add_bf16", "add_f32", "scale_bf16", "scale_f32", "gather_rows_bf16", "gather_rows_f32",
            "sample_rows_f32");
    /** Name prefixes of kernel families (one kernel per head size and group) written the same way. */
    static final List<String> PDL_KERNEL_PREFIXES = List.of("paged_attention_decode_d",
            "paged_attention_decode_tc_d");
    private final LaunchConfig pdlConfig;
    /** Whether PDL_KERNELS are launched with the programmatic-serialization attribute (sm_90+). */
    private boolean pdl;
    /** Set while a stream capture is under way: waiting on a capturing stream is an error. */
    private boolean capturing;
    /** The last launches, named in the error when an asynchronous fault surfaces at a sync. */
    private final String[] recentNames = new String[RECENT];
    private final List<Supplier<String>> recentWhat = new ArrayList<>(Collections.nCopies(RECENT, null));
    private int recentNext;

    /** {@code programmaticLaunch}: the device supports it (sm_90+); -Djlight.cuda.pdl=false turns it off. */
    Kernels(CudaDriver driver, MemorySegment stream, Arena arena, boolean programmaticLaunch) {
        this.driver = driver;
        this.stream = stream;
        byte[] image = readFatbin();
        MemorySegment native_ = arena.allocate(image.length + 1L, 256);
        MemorySegment.copy(MemorySegment.ofArray(image), 0, native_, 0, image.length);
        this.module = driver.moduleLoadData(native_);
        this.values = arena.allocate(8L * MAX_ARGS, 8);
        this.pointers = arena.allocate(8L * MAX_ARGS, 8);
        for (int i = 0; i < MAX_ARGS; i++) {
            pointers.setAtIndex(ValueLayout.ADDRESS, i, values.asSlice(8L * i, 8));
        }
        this.syncEachLaunch = Boolean.getBoolean("jlight.cuda.syncLaunches");
        this.pdlConfig = driver.hasLaunchKernelEx() ? new LaunchConfig(arena, stream) : null;
        this.pdl = programmaticLaunch && pdlConfig != null
                && !"false".equals(System.getProperty("jlight.cuda.pdl"));
    }

    /** Asked on every launch: a set lookup, then the few prefixes. */
    static boolean pdlKernel(String name) {
        if (PDL_KERNELS.contains(name)) {
            return true;
        }
        for (String prefix : PDL_KERNEL_PREFIXES) {
            if (name.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    boolean programmaticLaunch() {
        return pdl;
    }

    /** Turns programmatic launches on or off (benchmarks compare both); needs cuLaunchKernelEx. */
    void setProgrammaticLaunch(boolean on) {
        if (on && pdlConfig == null) {
            throw new IllegalStateException("the driver has no cuLaunchKernelEx");
        }
        this.pdl = on;
    }

    /** Why the kernels are missing, or null when the fatbin resource is there. */
    static String missingReason() {
        if (Kernels.class.getResource(FATBIN) != null) {
            return null;
        }
        Properties p = buildInfo();
        String reason = p.getProperty("reason");
        return "kernels not built (" + (reason != null ? reason : "nvcc absent at build time") + ")";
    }

    /** kernels.properties written by build-kernels.sh: built=true|false, nvcc version, gencodes. */
    static Properties buildInfo() {
        Properties p = new Properties();
        try (InputStream in = Kernels.class.getResourceAsStream(PROPERTIES)) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            // no build info: treated as not built
        }
        return p;
    }

    private static byte[] readFatbin() {
        String missing = missingReason();
        if (missing != null) {
            throw new JLightException(missing);
        }
        try (InputStream in = Kernels.class.getResourceAsStream(FATBIN)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new JLightException("cannot read kernels.fatbin: " + e.getMessage(), e);
        }
    }

    MemorySegment function(String name) {
        MemorySegment f = functions.get(name);
        if (f == null) {
            f = driver.moduleGetFunction(module, name);
            functions.put(name, f);
        }
        return f;
    }

    /**
     * Launches {@code name} on the backend's stream with grid (gx, gy), block bx and dynamic
     * shared memory; {@code what} describes the op and shape for error messages.
     */
    void launch(String name, int gx, int gy, int bx, int sharedBytes, Supplier<String> what, Object... args) {
        if (args.length > MAX_ARGS) {
            throw new IllegalArgumentException(name + ": " + args.length + " arguments");
        }
        for (int i = 0; i < args.length; i++) {
            long off = 8L * i;
            switch (args[i]) {
                case Long l -> values.set(ValueLayout.JAVA_LONG, off, l);
                case Integer v -> values.set(ValueLayout.JAVA_INT, off, v);
                case Float f -> values.set(ValueLayout.JAVA_FLOAT, off, f);
                default -> throw new IllegalArgumentException(name + " argument " + i + ": " + args[i].getClass());
            }
        }
        recentNames[recentNext] = name;
        recentWhat.set(recentNext, what);
        recentNext = (recentNext + 1) % RECENT;
        int r = pdl && pdlKernel(name)
                ? driver.launchKernelEx(pdlConfig.shape(gx, gy, bx, sharedBytes), function(name), pointers)
                : driver.launchKernel(function(name), gx, gy, 1, bx, 1, 1, sharedBytes, stream, pointers);
        if (r != 0) {
            throw new CudaException(describe(name, gx, gy, bx, sharedBytes, what), r, driver.errorName(r),
                    driver.errorString(r));
        }
        if (syncEachLaunch && !capturing) {
            r = driver.streamSynchronizeRaw(stream);
            if (r != 0) {
                throw new CudaException(describe(name, gx, gy, bx, sharedBytes, what) + " (run)", r,
                        driver.errorName(r), driver.errorString(r));
            }
        }
    }

    /** In the debugging mode (-Djlight.cuda.syncLaunches=true), waits for work queued outside launch (cuBLASLt). */
    void syncAfter(Supplier<String> what) {
        if (syncEachLaunch && !capturing) {
            int r = driver.streamSynchronizeRaw(stream);
            if (r != 0) {
                throw new CudaException(what.get() + " (run)", r, driver.errorName(r), driver.errorString(r));
            }
        }
    }

    /** While capturing, launches are not waited for even in the debugging mode. */
    void setCapturing(boolean capturing) {
        this.capturing = capturing;
    }

    boolean syncEachLaunch() {
        return syncEachLaunch;
    }

    private static String describe(String name, int gx, int gy, int bx, int smem, Supplier<String> what) {
        return name + "<<<(" + gx + "," + gy + "), " + bx + ", " + smem + ">>> for " + what.get();
    }

    void unload() {
        driver.moduleUnload(module);
        functions.clear();
    }

    /** The name of the last kernel launched (tests check which kernel a backend setting picks). */
    String lastLaunched() {
        return recentNames[(recentNext + RECENT - 1) % RECENT];
    }

    /** The recently launched kernels, oldest first, for the message of a failed synchronize. */
    String recentLaunches() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < RECENT; i++) {
            int k = (recentNext + i) % RECENT;
            if (recentNames[k] != null) {
                if (!sb.isEmpty()) {
                    sb.append("; ");
                }
                sb.append(recentNames[k]).append(" for ").append(recentWhat.get(k).get());
            }
        }
        return sb.toString();
    }
}
