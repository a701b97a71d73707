package dev.jlight.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.jlight.core.backend.Backend;
import dev.jlight.core.backend.Tensor;
import dev.jlight.core.weights.DType;
import dev.jlight.core.weights.WeightTensor;
import dev.jlight.cpu.CpuBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Locale;
import java.util.Random;

/**
 * ggml test-backend-ops style helpers: every tensor is made twice from the same bf16-exact host
 * values, once on the GPU (bf16) and once on the CPU reference (f32); outputs on the GPU sit
 * between guard rows of random values and start as NaN, so unwritten elements and overruns fail.
 */
final class GpuHarness {
    final CudaBackend gpu;
    final Backend cpu;
    final Random random;

    /** The same logical tensor on both backends. */
    record Pair(Tensor g, Tensor c) {
    }

    /** A GPU output view with one guard row above and below inside {@code full}. */
    record Guarded(Tensor full, float[] before, long rows, long cols) {
    }

    /** A GPU backend with a fixed arena; the calling test is skipped, with the reason, where none opens. */
    static CudaBackend openGpu(long arenaBytes) {
        CudaBackend.Availability a = CudaBackend.probe();
        assumeTrue(a.available(), () -> "skipped, no GPU backend here: " + a.reason());
        return new CudaBackend(CudaBackend.Options.defaults().withArenaBytes(arenaBytes));
    }

    /** The CPU reference backend on half the cores. */
    static CpuBackend cpuTwin() {
        return new CpuBackend(Math.max(1, Runtime.getRuntime().availableProcessors() / 2));
    }

    /**
     * A test class's {@code @AfterAll}: closes what its {@code @BeforeAll} opened, in order, skipping
     * nulls (a {@code @BeforeAll} that was skipped or failed part way); one failing close does not
     * keep the others open.
     */
    static void closeAll(AutoCloseable... opened) throws Exception {
        Exception first = null;
        for (AutoCloseable c : opened) {
            if (c == null) {
                continue;
            }
            try {
                c.close();
            } catch (Exception e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    GpuHarness(CudaBackend gpu, Backend cpu, String caseName) {
        this.gpu = gpu;
        this.cpu = cpu;
        this.random = new Random(caseName.hashCode());
    }

    float[] randn(long n, float scale) {
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = DType.bf16ToFloat(DType.floatToBf16((float) random.nextGaussian() * scale));
        }
        return v;
    }

    static short[] toBf16(float[] v) {
        short[] s = new short[v.length];
        for (int i = 0; i < v.length; i++) {
            s[i] = DType.floatToBf16(v[i]);
        }
        return s;
    }

    /** An activation [rows, cols]: bf16 on the GPU, f32 on the CPU (gpuType F32 keeps f32 on both). */
    Pair act(long rows, long cols, float[] data, DType gpuType) {
        Tensor g = gpu.allocate(gpuType, rows, cols);
        gpu.upload(g, gpuType == DType.BF16 ? MemorySegment.ofArray(toBf16(data)) : MemorySegment.ofArray(data));
        Tensor c = cpu.allocate(DType.F32, rows, cols);
        cpu.upload(c, MemorySegment.ofArray(data));
        return new Pair(g, c);
    }

    Pair act(long rows, long cols, float[] data) {
        return act(rows, cols, data, DType.BF16);
    }

    Pair randomAct(long rows, long cols) {
        return act(rows, cols, randn(rows * cols, 1f));
    }

    /** Columns [from, from + cols) of a wider random activation: a strided view on both sides. */
    Pair stridedAct(long rows, long cols, long pad) {
        Pair wide = randomAct(rows, cols + 2 * pad);
        return new Pair(gpu.sliceCols(wide.g(), pad, pad + cols), cpu.sliceCols(wide.c(), pad, pad + cols));
    }

    /** A bf16 weight, given to both backends as the same mapped-file-like segment. */
    Pair weight(String name, float[] data, long... shape) {
        MemorySegment seg = Arena.ofAuto().allocate(data.length * 2L, 64);
        MemorySegment.copy(MemorySegment.ofArray(toBf16(data)), 0, seg, 0, data.length * 2L);
        WeightTensor w = new WeightTensor(name, DType.BF16, shape, seg, null);
        return new Pair(gpu.weight(w), cpu.weight(w));
    }

    Pair ints(int[] v) {
        Tensor g = gpu.allocate(DType.I32, v.length, 1);
        Tensor c = cpu.allocate(DType.I32, v.length, 1);
        if (v.length > 0) {
            gpu.upload(g, MemorySegment.ofArray(v));
            cpu.upload(c, MemorySegment.ofArray(v));
        }
        return new Pair(g, c);
    }

    /** A GPU output of [rows, cols] starting as NaN between two random guard rows. */
    Guarded guarded(long rows, long cols, DType type) {
        float[] init = randn((rows + 2) * cols, 1f);
        for (long i = cols; i < (rows + 1) * cols; i++) {
            init[(int) i] = Float.NaN;
        }
        Tensor full = gpu.allocate(type, rows + 2, cols);
        gpu.upload(full, type == DType.BF16 ? MemorySegment.ofArray(toBf16(init)) : MemorySegment.ofArray(init));
        return new Guarded(full, init, rows, cols);
    }

    Tensor view(Guarded g) {
        return gpu.sliceRows(g.full(), 1, g.rows() + 1);
    }

    /** Guarded output on the GPU, plain f32 on the CPU. */
    Pair out(long rows, long cols, DType gpuType, Guarded[] holder) {
        holder[0] = guarded(rows, cols, gpuType);
        return new Pair(view(holder[0]), cpu.allocate(DType.F32, rows, cols));
    }

    void checkGuards(String name, Guarded g) {
        float[] all = downloadGpu(g.full());
        long c = g.cols();
        for (long i = 0; i < c; i++) {
            long j = (g.rows() + 1) * c + i;
            if (Float.floatToRawIntBits(all[(int) i]) != Float.floatToRawIntBits(g.before()[(int) i])
                    || Float.floatToRawIntBits(all[(int) j]) != Float.floatToRawIntBits(g.before()[(int) j])) {
                fail(name + ": guard row overwritten at column " + i);
            }
        }
    }

    float[] downloadGpu(Tensor t) {
        int n = Math.toIntExact(t.numel());
        if (t.dtype() == DType.F32) {
            float[] f = new float[n];
            gpu.download(t, MemorySegment.ofArray(f));
            return f;
        }
        assertEquals(DType.BF16, t.dtype());
        short[] s = new short[n];
        gpu.download(t, MemorySegment.ofArray(s));
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = DType.bf16ToFloat(s[i]);
        }
        return f;
    }

    float[] downloadCpu(Tensor t) {
        float[] f = new float[Math.toIntExact(t.numel())];
        cpu.download(t, MemorySegment.ofArray(f));
        return f;
    }

    /** Normalized MSE of the GPU result against the CPU one; NaN and unwritten outputs fail. */
    double assertClose(String name, Pair p, double maxNmse) {
        float[] g = downloadGpu(p.g());
        float[] c = downloadCpu(p.c());
        assertEquals(c.length, g.length, name + ": sizes");
        double err = 0, ref = 0;
        for (int i = 0; i < g.length; i++) {
            if (!Float.isFinite(g[i])) {
                fail(name + ": GPU element " + i + " is " + g[i] + " (CPU " + c[i] + ")");
            }
            double d = (double) g[i] - c[i];
            err += d * d;
            ref += (double) c[i] * c[i];
        }
        double nmse = ref == 0 ? err : err / ref;
        assertTrue(nmse < maxNmse, String.format(Locale.ROOT, "%s: NMSE %.3e >= %.1e", name, nmse, maxNmse));
        return nmse;
    }
}
