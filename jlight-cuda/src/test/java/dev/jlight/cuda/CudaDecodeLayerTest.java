package dev.jlight.cuda;


import dev.jlight.core.backend.AttentionMetadata;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.backend.KvCacheSpec;
import dev.jlight.core.backend.RopeSpec;
import dev.jlight.core.weights.DType;
import dev.jlight.cpu.CpuBackend;
import dev.jlight.cuda.GpuHarness.Guarded;
import dev.jlight.cuda.GpuHarness.Pair;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A decode layer's attention half on the GPU (fused ropeAndWriteKv, then the DECODE attention
 * kernel, on tensor cores and on CUDA cores) against the CPU backend (rope, writeKv, attention):
 * block sizes 5, 16 and 32, head dims 64/80/96/128/256, GQA 1..16, contexts 1..32k, split counts
 * forced to one and to many and left to the plan. Every K/V row no token may read is NaN (the
 * whole cache is poisoned first) and block tables carry out-of-range padding, so a kernel that
 * touches either fails. Each case asserts which decode kernel launched.
 */
@Tag("gpu")
class CudaDecodeLayerTest {
    static CudaBackend gpu;
    static CpuBackend cpu;

    @BeforeAll
    static void open() {
        gpu = GpuHarness.openGpu(4L << 30);
        cpu = GpuHarness.cpuTwin();
    }

    @AfterAll
    static void close() throws Exception {
        GpuHarness.closeAll(gpu, cpu);
    }

    @AfterEach
    void restore() {
        gpu.forceDecodeSplitSize(0);
        gpu.setAttentionKernel(CudaBackend.AttentionKernel.AUTO);
        gpu.setDecodeAttention(CudaBackend.DecodeAttention.TC);
        gpu.setFuseRopeKv(true);
    }

    /** heads, kvHeads, head dim, block size, contexts (positions before the new token), forced split (0: plan; -1: unfused rope). */
    static Stream<Arguments> cases() {
        int[] decode = {0, 1, 15, 16, 17, 31, 33, 640, 1000};
        return Stream.of(
                Arguments.of(32, 8, 128, 16, decode, 0), Arguments.of(32, 8, 128, 32, decode, 0),
                Arguments.of(32, 8, 128, 16, decode, 1 << 20), Arguments.of(32, 8, 128, 16, decode, 64),
                Arguments.of(32, 8, 128, 32, new int[] {4095, 2000}, 32), Arguments.of(8, 8, 64, 16, decode, 0),
                Arguments.of(16, 2, 64, 32, decode, 64), Arguments.of(12, 4, 80, 16, decode, 0),
                Arguments.of(12, 2, 96, 32, decode, 96), Arguments.of(16, 2, 256, 16, decode, 0),
                Arguments.of(28, 4, 128, 16, decode, 0), Arguments.of(40, 5, 128, 16, decode, 64),
                Arguments.of(8, 1, 64, 16, new int[] {32767}, 0), Arguments.of(32, 8, 128, 16, new int[] {32767}, 0),
                Arguments.of(32, 8, 128, 16, decode, -1), Arguments.of(32, 8, 128, 5, decode, 64),
                Arguments.of(32, 2, 128, 16, decode, 0), Arguments.of(16, 1, 64, 5, decode, 32),
                Arguments.of(36, 4, 128, 16, decode, 1 << 20))
                // each on tensor cores (where an instance exists) and on CUDA cores (where the
                // tensor-core one exists: elsewhere the TC setting already runs it)
                .flatMap(a -> {
                    Object[] v = a.get();
                    return Stream.of(CudaBackend.DecodeAttention.values())
                            .filter(d -> d == CudaBackend.DecodeAttention.TC || CudaAttentionTest.tcHeadDim((int) v[2]))
                            .map(d -> Arguments.of(v[0], v[1], v[2], v[3], v[4], v[5], d));
                });
    }

    @ParameterizedTest(name = "decodeLayer(heads={0}/{1},D={2},block={3},split={5},decode={6})")
    @MethodSource("cases")
    void decodeLayer(int heads, int kvHeads, int hd, int block, int[] ctx, int split,
                     CudaBackend.DecodeAttention decodeKernel) {
        String name = "decodeLayer(heads=" + heads + "/" + kvHeads + ",D=" + hd + ",block=" + block + ",ctx="
                + java.util.Arrays.toString(ctx) + ",split=" + split + ",decode=" + decodeKernel + ")";
        gpu.setAttentionKernel(CudaBackend.AttentionKernel.DECODE);
        gpu.setDecodeAttention(decodeKernel);
        gpu.forceDecodeSplitSize(Math.max(split, 0));
        gpu.setFuseRopeKv(split >= 0);
        GpuHarness h = new GpuHarness(gpu, cpu, name);
        int kvDim = kvHeads * hd, n = ctx.length;
        int[] lens = new int[n];
        int total = 0;
        for (int s = 0; s < n; s++) {
            lens[s] = ctx[s] + 1;
            total += (lens[s] + block - 1) / block + 2;
        }
        List<Integer> free = new ArrayList<>();
        for (int b = 0; b < total; b++) {
            free.add(b);
        }
        Collections.shuffle(free, h.random);
        int[][] tables = new int[n][];
        for (int s = 0; s < n; s++) {
            int used = (lens[s] + block - 1) / block;
            tables[s] = new int[used + 2];
            for (int j = 0; j < tables[s].length; j++) {
                // padding past the used blocks: far out of range, never to be read
                tables[s][j] = j < used ? free.removeLast() : total + 1000 + j;
            }
        }
        KvCacheSpec gs = new KvCacheSpec(1, total, block, kvHeads, hd, DType.BF16);
        KvCache gk = gpu.allocateKvCache(gs);
        KvCache ck = cpu.allocateKvCache(new KvCacheSpec(1, total, block, kvHeads, hd, DType.F32));
        try {
            poison(gk, total * block, kvDim, block);
            // the cached context, then the new token of every sequence
            AttentionMetadata history = metadata(ctx, ctx, tables, block);
            if (history.numTokens() > 0) {
                Pair k = h.randomAct(history.numTokens(), kvDim);
                Pair v = h.randomAct(history.numTokens(), kvDim);
                gpu.writeKv(gk, 0, k.g(), v.g(), history);
                cpu.writeKv(ck, 0, k.c(), v.c(), history);
            }
            int[] one = new int[n];
            java.util.Arrays.fill(one, 1);
            AttentionMetadata step = metadata(one, lens, tables, block);
            long q = (long) heads * hd;
            Pair qkv = h.randomAct(n, q + 2L * kvDim);
            Pair qv = new Pair(gpu.sliceCols(qkv.g(), 0, q), cpu.sliceCols(qkv.c(), 0, q));
            Pair k = new Pair(gpu.sliceCols(qkv.g(), q, q + kvDim), cpu.sliceCols(qkv.c(), q, q + kvDim));
            Pair v = new Pair(gpu.sliceCols(qkv.g(), q + kvDim, q + 2L * kvDim),
                    cpu.sliceCols(qkv.c(), q + kvDim, q + 2L * kvDim));
            int[] pos = new int[n];
            for (int s = 0; s < n; s++) {
                pos[s] = ctx[s];
            }
            Pair p = h.ints(pos);
            RopeSpec rope = new RopeSpec(hd, hd, 500000.0, new RopeSpec.Scaling("llama3", 8.0, 1.0, 4.0, 8192));
            gpu.ropeAndWriteKv(qv.g(), k.g(), v.g(), p.g(), rope, heads, kvHeads, gk, 0, step);
            cpu.rope(qv.c(), k.c(), p.c(), rope, heads, kvHeads);
            cpu.writeKv(ck, 0, k.c(), v.c(), step);
            h.assertClose(name + " q,k rotated", qkv, 1e-4);
            Guarded[] g = new Guarded[1];
            Pair out = h.out(n, q, DType.BF16, g);
            float scale = (float) (1.0 / Math.sqrt(hd));
            gpu.attention(out.g(), qv.g(), gk, 0, step, heads, scale);
            CudaAttentionTest.assertDecodeKernel(gpu, name, decodeKernel, hd, heads / kvHeads);
            cpu.attention(out.c(), qv.c(), ck, 0, step, heads, scale);
            h.assertClose(name, out, 1e-4);
            h.checkGuards(name, g[0]);
        } finally {
            gk.close();
            ck.close();
        }
    }

    /** Writes NaN K and V into every slot of the cache (one sequence owning all blocks). */
    private static void poison(KvCache cache, int slots, int kvDim, int block) {
        float[] nan = new float[slots * kvDim];
        java.util.Arrays.fill(nan, Float.NaN);
        GpuHarness h = new GpuHarness(gpu, cpu, "poison");
        Pair k = h.act(slots, kvDim, nan);
        int[] table = new int[slots / block];
        int[] slotMap = new int[slots];
        for (int i = 0; i < table.length; i++) {
            table[i] = i;
        }
        for (int i = 0; i < slots; i++) {
            slotMap[i] = i;
        }
        gpu.writeKv(cache, 0, k.g(), k.g(), new AttentionMetadata(new int[] {0, slots}, new int[] {slots},
                new int[][] {table}, slotMap, block));
    }

    /** Sequence s adds newTokens[s] tokens and has lens[s] in all. */
    private static AttentionMetadata metadata(int[] newTokens, int[] lens, int[][] tables, int block) {
        int n = newTokens.length;
        int[] qs = new int[n + 1];
        for (int s = 0; s < n; s++) {
            qs[s + 1] = qs[s] + newTokens[s];
        }
        int[] slots = new int[qs[n]];
        for (int s = 0; s < n; s++) {
            for (int i = 0; i < newTokens[s]; i++) {
                int pos = lens[s] - newTokens[s] + i;
                slots[qs[s] + i] = tables[s][pos / block] * block + pos % block;
            }
        }
        return new AttentionMetadata(qs, lens.clone(), tables, slots, block);
    }
}
