package dev.jlight.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jlight.core.JLightException;
import dev.jlight.core.backend.Tensor;
import dev.jlight.core.weights.DType;
import dev.jlight.core.weights.WeightTensor;
import dev.jlight.cpu.CpuBackend;
import dev.jlight.cuda.GpuHarness.Guarded;
import dev.jlight.cuda.GpuHarness.Pair;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CUDA mixture-of-experts ops (moe.cu via {@link CudaMoe}) against the CPU backend's twin
 * (CpuMoe) on the same bf16-exact inputs: the router's ids exactly and its weights to f32
 * rounding; the experts to {@link #NMSE} (the GPU rounds the SwiGLU activation and the output to
 * bf16). Routings leave an expert without tokens whose weights are NaN, so a kernel that touches
 * an idle expert, a padding row or a row of another expert fails; outputs sit between guard rows.
 * Also: Mixtral-8x7B's expert shape (H 4096, I 14336, E 8, top-2), bit-identical reruns, a
 * token's output independent of the other tokens of the step, and the input checks.
 */
@Tag("gpu")
class CudaMoeTest {
    static final double NMSE = 1e-4;
    static CudaBackend gpu;
    static CpuBackend cpu;

    @BeforeAll
    static void open() {
        gpu = GpuHarness.openGpu(8L << 30);
        cpu = GpuHarness.cpuTwin();
        System.out.println("cuda moe test on " + gpu.describe());
    }

    @AfterAll
    static void close() throws Exception {
        if (gpu != null) {
            System.out.println(gpu.arena().summary());
        }
        GpuHarness.closeAll(gpu, cpu);
    }

    // ---- router -------------------------------------------------------------------------------

    static Stream<Arguments> topKShapes() {
        return Stream.of(Arguments.of(1, 8, 2, true, "BF16"), Arguments.of(3, 4, 1, false, "BF16"),
                Arguments.of(64, 8, 2, true, "BF16"), Arguments.of(1000, 64, 6, true, "BF16"),
                Arguments.of(5, 256, 8, false, "BF16"), Arguments.of(7, 160, 8, true, "F32"),
                Arguments.of(33, 6, 6, true, "F32"), Arguments.of(2, 33, 3, false, "BF16"));
    }

    @ParameterizedTest(name = "moeTopK(T={0},E={1},k={2},renormalize={3},logits={4})")
    @MethodSource("topKShapes")
    void topK(int t, int e, int k, boolean renormalize, String logitsType) {
        String name = "moeTopK(T=" + t + ",E=" + e + ",k=" + k + ",renormalize=" + renormalize + ")";
        GpuHarness h = new GpuHarness(gpu, cpu, name);
        float[] data = h.randn((long) t * e, 2f);
        if (t > 1) {
            // an exact tie in row 1: the lower id must come first on both backends
            data[e] = 3f;
            data[e + e - 1] = 3f;
        }
        Pair logits = h.act(t, e, data, DType.valueOf(logitsType));
        Tensor gIds = gpu.allocate(DType.I32, t, k), cIds = cpu.allocate(DType.I32, t, k);
        Pair w = h.act(t, k, new float[t * k], DType.F32);
        gpu.moeTopK(gIds, w.g(), logits.g(), k, renormalize);
        cpu.moeTopK(cIds, w.c(), logits.c(), k, renormalize);
        int[] gi = ints(gpu, gIds), ci = ints(cpu, cIds);
        assertArrayEquals(ci, gi, name + ": expert ids");
        float[] gw = h.downloadGpu(w.g()), cw = h.downloadCpu(w.c());
        for (int i = 0; i < gw.length; i++) {
            assertEquals(cw[i], gw[i], 2e-6f * (1 + Math.abs(cw[i])), name + ": weight " + i);
        }
    }

    // ---- experts ------------------------------------------------------------------------------

    static Stream<Arguments> expertShapes() {
        return Stream.of(
                Arguments.of(1, 4, 1, 64, 32, false), Arguments.of(3, 4, 2, 128, 96, false),
                Arguments.of(64, 8, 2, 256, 512, false), Arguments.of(1000, 8, 2, 128, 200, false),
                Arguments.of(3, 64, 6, 136, 72, true), Arguments.of(64, 64, 6, 64, 48, false),
                Arguments.of(1000, 64, 6, 256, 128, true), Arguments.of(17, 3, 3, 40, 24, false),
                Arguments.of(5, 8, 2, 1032, 8, true), Arguments.of(40, 8, 2, 256, 4104, false)); // 2 K slices
    }

    @ParameterizedTest(name = "moeExperts(T={0},E={1},k={2},H={3},I={4},stridedX={5})")
    @MethodSource("expertShapes")
    void experts(int t, int e, int k, int hidden, int inter, boolean stridedX) {
        String name = "moeExperts(T=" + t + ",E=" + e + ",k=" + k + ",H=" + hidden + ",I=" + inter + ",stridedX="
                + stridedX + ")";
        GpuHarness h = new GpuHarness(gpu, cpu, name);
        int idle = e > k ? e - 1 : -1; // never routed to; its weights are NaN
        Pair gateUp = h.weight("gateUp", poisoned(h.randn(2L * e * inter * hidden, 1f / (float) Math.sqrt(hidden)),
                idle, 2L * inter * hidden), 2L * e * inter, hidden);
        Pair down = h.weight("down", poisoned(h.randn((long) e * hidden * inter, 1f / (float) Math.sqrt(inter)),
                idle, (long) hidden * inter), (long) e * hidden, inter);
        Pair x = stridedX ? h.stridedAct(t, hidden, 16) : h.randomAct(t, hidden);
        compare(h, name, x, gateUp, down, routing(h.random, t, e, k, idle), e);
    }

    /** moeExperts on both backends into a guarded output, compared. */
    static void compare(GpuHarness h, String name, Pair x, Pair gateUp, Pair down, Routing r, int e) {
        Guarded[] g = new Guarded[1];
        Pair out = h.out(x.g().rows(), x.g().cols(), DType.BF16, g);
        gpu.moeExperts(out.g(), x.g(), gateUp.g(), down.g(), r.ids.g(), r.weights.g(), e);
        cpu.moeExperts(out.c(), x.c(), gateUp.c(), down.c(), r.ids.c(), r.weights.c(), e);
        h.assertClose(name, out, NMSE);
        h.checkGuards(name, g[0]);
    }

    /** Mixtral-8x7B's experts (H 4096, I 14336, E 8, top-2) at decode and batched sizes. */
    @ParameterizedTest(name = "mixtral8x7bExperts(T={0})")
    @MethodSource("mixtralTokens")
    void mixtralShape(int t) {
        int e = 8, k = 2, hidden = 4096, inter = 14336;
        String name = "moeExperts mixtral-8x7b(T=" + t + ")";
        GpuHarness h = new GpuHarness(gpu, cpu, name);
        try (Arena arena = Arena.ofShared()) {   // filled by parallel threads
            Pair gateUp = bigWeight(arena, "gateUp", 2L * e * inter, hidden, 7);
            Pair down = bigWeight(arena, "down", (long) e * hidden, inter, 8);
            compare(h, name, h.randomAct(t, hidden), gateUp, down, routing(h.random, t, e, k, -1), e);
            gpu.synchronize(); // before the arena of the host weights closes
        }
    }

    static Stream<Arguments> mixtralTokens() {
        return Stream.of(Arguments.of(1), Arguments.of(64));
    }

    /**
     * Batch invariance and determinism: a rerun is bit-identical, and the first tokens of a
     * 300-token step get bit for bit what they get in a step of their own (their rows land in
     * other tiles, at other places, next to other tokens).
     */
    @Test
    void deterministicAndIndependentOfTheOtherTokens() {
        int t = 300, few = 3, e = 8, k = 2, hidden = 256, inter = 192;
        GpuHarness h = new GpuHarness(gpu, cpu, "moe invariance");
        Pair gateUp = h.weight("gateUp", h.randn(2L * e * inter * hidden, 0.06f), 2L * e * inter, hidden);
        Pair down = h.weight("down", h.randn((long) e * hidden * inter, 0.07f), (long) e * hidden, inter);
        Pair x = h.randomAct(t, hidden);
        Routing r = routing(h.random, t, e, k, -1);
        Tensor all = gpu.allocate(DType.BF16, t, hidden);
        gpu.moeExperts(all, x.g(), gateUp.g(), down.g(), r.ids.g(), r.weights.g(), e);
        float[] first = h.downloadGpu(all);
        gpu.moeExperts(all, x.g(), gateUp.g(), down.g(), r.ids.g(), r.weights.g(), e);
        assertArrayEquals(first, h.downloadGpu(all), "rerun");
        Tensor part = gpu.allocate(DType.BF16, few, hidden);
        gpu.moeExperts(part, gpu.sliceRows(x.g(), 0, few), gateUp.g(), down.g(), gpu.sliceRows(r.ids.g(), 0, few),
                gpu.sliceRows(r.weights.g(), 0, few), e);
        float[] alone = h.downloadGpu(part);
        for (int i = 0; i < alone.length; i++) {
            assertEquals(Float.floatToRawIntBits(first[i]), Float.floatToRawIntBits(alone[i]),
                    "token " + i / hidden + " column " + i % hidden + ": " + first[i] + " in the batch, " + alone[i]
                            + " alone");
        }
    }

    @Test
    void rejectsShapesTheKernelsCannotRun() {
        GpuHarness h = new GpuHarness(gpu, cpu, "moe checks");
        int e = 4, k = 2;
        Pair x = h.randomAct(2, 36); // H = 36: not a multiple of 8
        Pair gateUp = h.weight("gateUp", h.randn(2L * e * 16 * 36, 0.1f), 2L * e * 16, 36);
        Pair down = h.weight("down", h.randn((long) e * 36 * 16, 0.1f), (long) e * 36, 16);
        Routing r = routing(h.random, 2, e, k, -1);
        Tensor out = gpu.allocate(DType.BF16, 2, 36);
        JLightException ex = assertThrows(JLightException.class,
                () -> gpu.moeExperts(out, x.g(), gateUp.g(), down.g(), r.ids.g(), r.weights.g(), e));
        assertTrue(ex.getMessage().contains("multiples of 8"), ex.getMessage());
        ex = assertThrows(JLightException.class,
                () -> gpu.moeExperts(out, x.g(), gateUp.g(), down.g(), r.ids.g(), r.weights.g(), e + 1));
        assertTrue(ex.getMessage().contains("stacked"), ex.getMessage());
        Tensor logits = gpu.allocate(DType.BF16, 2, e);
        ex = assertThrows(JLightException.class, () -> gpu.moeTopK(r.ids.g(), r.weights.g(), logits, e + 1, true));
        assertTrue(ex.getMessage().contains("k = " + (e + 1)), ex.getMessage());
    }

    // ---- helpers ------------------------------------------------------------------------------

    /** ids [T,k] (distinct experts per token, never {@code idle}) and positive weights [T,k]. */
    record Routing(Pair ids, Pair weights) {
    }

    static Routing routing(Random random, int t, int e, int k, int idle) {
        List<Integer> experts = new ArrayList<>(IntStream.range(0, e).filter(i -> i != idle).boxed().toList());
        int[] ids = new int[t * k];
        float[] w = new float[t * k];
        for (int i = 0; i < t; i++) {
            java.util.Collections.shuffle(experts, random);
            for (int j = 0; j < k; j++) {
                ids[i * k + j] = experts.get(j);
                w[i * k + j] = 0.05f + random.nextFloat();
            }
        }
        Tensor gIds = gpu.allocate(DType.I32, t, k), cIds = cpu.allocate(DType.I32, t, k);
        Tensor gW = gpu.allocate(DType.F32, t, k), cW = cpu.allocate(DType.F32, t, k);
        gpu.upload(gIds, MemorySegment.ofArray(ids));
        cpu.upload(cIds, MemorySegment.ofArray(ids));
        gpu.upload(gW, MemorySegment.ofArray(w));
        cpu.upload(cW, MemorySegment.ofArray(w));
        return new Routing(new Pair(gIds, cIds), new Pair(gW, cW));
    }

    /** The expert {@code idle}'s block of {@code perExpert} values set to NaN. */
    static float[] poisoned(float[] v, int idle, long perExpert) {
        if (idle >= 0) {
            java.util.Arrays.fill(v, (int) (idle * perExpert), (int) ((idle + 1) * perExpert), Float.NaN);
        }
        return v;
    }

    /** A bf16 weight too large for a Java array: uniform in ±sqrt(3/cols) (unit-variance rows), off-heap. */
    static Pair bigWeight(Arena arena, String name, long rows, long cols, long seed) {
        long n = rows * cols;
        MemorySegment seg = arena.allocate(2 * n, 64);
        float scale = (float) Math.sqrt(3.0 / cols);
        long chunk = 1L << 20;
        IntStream.range(0, (int) ((n + chunk - 1) / chunk)).parallel().forEach(c -> {
            SplittableRandom r = new SplittableRandom(seed * 1_000_003L + c);
            for (long i = c * chunk, end = Math.min(n, (c + 1) * chunk); i < end; i++) {
                seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i,
                        DType.floatToBf16((float) (r.nextDouble(-1, 1) * scale)));
            }
        });
        WeightTensor w = new WeightTensor(name, DType.BF16, new long[] {rows, cols}, seg, null);
        return new Pair(gpu.weight(w), cpu.weight(w));
    }

    static int[] ints(dev.jlight.core.backend.Backend b, Tensor t) {
        int[] v = new int[Math.toIntExact(t.numel())];
        b.download(t, MemorySegment.ofArray(v));
        return v;
    }
}
