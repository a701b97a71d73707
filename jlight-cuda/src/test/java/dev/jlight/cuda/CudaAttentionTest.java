package dev.jlight.cuda;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.jlight.core.backend.AttentionMetadata;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.backend.KvCacheSpec;
import dev.jlight.core.weights.DType;
import dev.jlight.cpu.CpuBackend;
import dev.jlight.cuda.GpuHarness.Guarded;
import dev.jlight.cuda.GpuHarness.Pair;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * writeKv + paged attention against the CPU backend, through each kernel (flash on tensor cores,
 * decode on tensor cores and on CUDA cores, split-KV, grouped for GQA 2/4/8, one head per block):
 * GQA group sizes 1/3/4/5/7/8/12/16, head dims 32/64/96/128/256,
 * block size 16, shuffled physical blocks, a flat batch mixing a fresh prefill, decode tokens
 * and a prefill chunk over a cached prefix, and a token whose slot is -1 (its K/V already in
 * the cache from the previous step, which must be kept); long contexts with few tokens, where the
 * split kernel spreads a context over many splits and merges their partials.
 */
@Tag("gpu")
class CudaAttentionTest {
    static final int BLOCK = 16;
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

    /** {cached tokens, new tokens} per sequence. */
    static Stream<Arguments> cases() {
        int[][] mixed = {{0, 37}, {50, 1}, {33, 20}, {100, 1}, {15, 1}, {0, 1}};
        int[][] decode = {{1, 1}, {16, 1}, {17, 1}, {255, 1}, {1000, 1}};
        int[][] longPrefill = {{0, 300}, {64, 129}};
        int[][] longContext = {{3000, 1}, {2500, 7}, {63, 1}, {64, 1}, {65, 1}};
        Stream<Arguments> base = Stream.of(
                Arguments.of(8, 8, 64, mixed), Arguments.of(16, 4, 128, mixed), Arguments.of(32, 4, 128, mixed),
                Arguments.of(8, 2, 64, mixed), Arguments.of(32, 8, 128, decode), Arguments.of(28, 4, 128, decode),
                Arguments.of(8, 1, 64, longPrefill), Arguments.of(16, 16, 128, longPrefill),
                Arguments.of(16, 4, 256, mixed), Arguments.of(6, 2, 96, decode), Arguments.of(64, 8, 128, mixed),
                Arguments.of(32, 8, 128, longContext), Arguments.of(6, 2, 32, longContext),
                Arguments.of(8, 1, 256, longContext), Arguments.of(10, 2, 64, longContext),
                Arguments.of(7, 1, 128, decode), Arguments.of(16, 1, 128, decode), Arguments.of(24, 2, 64, mixed),
                Arguments.of(32, 2, 128, longContext), Arguments.of(12, 1, 64, longContext));
        // each case through every kernel, DECODE on tensor and on CUDA cores (FLASH falls back to
        // SPLIT for head dims other than 64 and 128, GROUPED to SIMPLE outside GQA 2/4/8, tensor-core
        // DECODE to the CUDA-core one outside head dims 64/128, DECODE to SPLIT or SIMPLE past GQA 8/16)
        CudaBackend.DecodeAttention tc = CudaBackend.DecodeAttention.TC, simt = CudaBackend.DecodeAttention.SIMT;
        List<Object[]> kernels = List.of(new Object[] {CudaBackend.AttentionKernel.FLASH, tc},
                new Object[] {CudaBackend.AttentionKernel.DECODE, tc},
                new Object[] {CudaBackend.AttentionKernel.DECODE, simt},
                new Object[] {CudaBackend.AttentionKernel.SPLIT, tc},
                new Object[] {CudaBackend.AttentionKernel.GROUPED, tc},
                new Object[] {CudaBackend.AttentionKernel.SIMPLE, tc});
        // (DECODE on CUDA cores separately only where the tensor-core kernel exists: elsewhere the
        // TC setting already runs it)
        return base.flatMap(a -> {
            Object[] v = a.get();
            return kernels.stream().filter(k -> k[1] == tc || tcHeadDim((int) v[2]))
                    .map(k -> Arguments.of(v[0], v[1], v[2], v[3], k[0], k[1]));
        });
    }

    @ParameterizedTest(name = "attention(heads={0}/{1},D={2},seqs={3},kernel={4},decode={5})")
    @MethodSource("cases")
    void attention(int heads, int kvHeads, int hd, int[][] seqs, CudaBackend.AttentionKernel kernel,
                   CudaBackend.DecodeAttention decode) {
        String name = "attention(heads=" + heads + "/" + kvHeads + ",D=" + hd + ",seqs=" + describe(seqs)
                + ",kernel=" + kernel + ",decode=" + decode + ")";
        gpu.setAttentionKernel(kernel);
        gpu.setDecodeAttention(decode);
        GpuHarness h = new GpuHarness(gpu, cpu, name);
        int kvDim = kvHeads * hd;
        int numSeqs = seqs.length;
        // physical blocks handed out in a shuffled order, tables with one spare entry
        int totalBlocks = 0;
        for (int[] s : seqs) {
            totalBlocks += (s[0] + s[1] + BLOCK - 1) / BLOCK + 1;
        }
        List<Integer> free = new ArrayList<>();
        for (int b = 0; b < totalBlocks + 8; b++) {
            free.add(b);
        }
        Collections.shuffle(free, h.random);
        int[][] tables = new int[numSeqs][];
        for (int s = 0; s < numSeqs; s++) {
            tables[s] = new int[(seqs[s][0] + seqs[s][1] + BLOCK - 1) / BLOCK + 1];
            for (int j = 0; j < tables[s].length; j++) {
                tables[s][j] = free.removeLast();
            }
        }
        int layers = 2, layer = 1;
        KvCache gk = gpu.allocateKvCache(new KvCacheSpec(layers, totalBlocks + 8, BLOCK, kvHeads, hd, DType.BF16));
        KvCache ck = cpu.allocateKvCache(new KvCacheSpec(layers, totalBlocks + 8, BLOCK, kvHeads, hd, DType.F32));
        try {
            // step 1: the cached prefixes (one position more for sequences whose next token reuses it)
            int[] prefix = new int[numSeqs];
            for (int s = 0; s < numSeqs; s++) {
                prefix[s] = seqs[s][0] > 0 && seqs[s][1] > 1 ? seqs[s][0] + 1 : seqs[s][0];
            }
            AttentionMetadata history = metadata(prefix, prefix, tables, null);
            if (history.numTokens() > 0) {
                Pair k = h.randomAct(history.numTokens(), kvDim);
                Pair v = h.randomAct(history.numTokens(), kvDim);
                gpu.writeKv(gk, layer, k.g(), v.g(), history);
                cpu.writeKv(ck, layer, k.c(), v.c(), history);
            }
            // step 2: the new tokens; a chunk over a cached prefix starts with a token already cached
            int[] newTokens = new int[numSeqs];
            int[] lens = new int[numSeqs];
            boolean[] firstCached = new boolean[numSeqs];
            for (int s = 0; s < numSeqs; s++) {
                newTokens[s] = seqs[s][1];
                lens[s] = seqs[s][0] + seqs[s][1];
                firstCached[s] = prefix[s] > seqs[s][0];
            }
            AttentionMetadata step = metadata(newTokens, lens, tables, firstCached);
            int t = step.numTokens();
            Pair qkv = h.randomAct(t, (long) heads * hd + 2L * kvDim);
            long q = (long) heads * hd;
            Pair qv = new Pair(gpu.sliceCols(qkv.g(), 0, q), cpu.sliceCols(qkv.c(), 0, q));
            Pair k = new Pair(gpu.sliceCols(qkv.g(), q, q + kvDim), cpu.sliceCols(qkv.c(), q, q + kvDim));
            Pair v = new Pair(gpu.sliceCols(qkv.g(), q + kvDim, q + 2L * kvDim),
                    cpu.sliceCols(qkv.c(), q + kvDim, q + 2L * kvDim));
            gpu.writeKv(gk, layer, k.g(), v.g(), step);
            cpu.writeKv(ck, layer, k.c(), v.c(), step);
            Guarded[] g = new Guarded[1];
            Pair out = h.out(t, q, DType.BF16, g);
            float scale = (float) (1.0 / Math.sqrt(hd));
            gpu.attention(out.g(), qv.g(), gk, layer, step, heads, scale);
            if (kernel == CudaBackend.AttentionKernel.DECODE) {
                assertDecodeKernel(gpu, name, decode, hd, heads / kvHeads);
            }
            cpu.attention(out.c(), qv.c(), ck, layer, step, heads, scale);
            h.assertClose(name, out, 1e-4);
            h.checkGuards(name, g[0]);
        } finally {
            gk.close();
            ck.close();
        }
    }

    /** Head dims with a tensor-core decode kernel (CudaBackend's TC_DECODE_HEAD_DIMS). */
    static boolean tcHeadDim(int hd) {
        return hd == 64 || hd == 128;
    }

    /** Head dims with a CUDA-core decode kernel (CudaBackend's DECODE_HEAD_DIMS). */
    static boolean simtHeadDim(int hd) {
        return hd == 64 || hd == 80 || hd == 96 || hd == 128 || hd == 256;
    }

    /**
     * The setting's decode kernel ran: the tensor-core one for TC at head dims 64/128 and GQA up to
     * 16 (q rows are 16-byte aligned in these tests), else the CUDA-core one at its head dims up to
     * GQA 8, else none (another attention kernel).
     */
    static void assertDecodeKernel(CudaBackend backend, String name, CudaBackend.DecodeAttention decode, int hd,
                                   int group) {
        String launched = backend.kernels().lastLaunched();
        boolean tc = decode == CudaBackend.DecodeAttention.TC && tcHeadDim(hd) && group <= 16;
        String want = tc ? "paged_attention_decode_tc_d" + hd + "_g" + group + "_bf16"
                : simtHeadDim(hd) && group <= 8 ? "paged_attention_decode_d" + hd + "_g" + group + "_bf16" : null;
        if (want != null) {
            assertEquals(want, launched, name + ": launched kernel");
        } else {
            assertFalse(launched.startsWith("paged_attention_decode"), name + ": launched " + launched);
        }
    }

    /** Flat-batch metadata: sequence s adds newTokens[s] tokens and has lens[s] in all. */
    static AttentionMetadata metadata(int[] newTokens, int[] lens, int[][] tables, boolean[] firstCached) {
        int n = newTokens.length;
        int[] qs = new int[n + 1];
        for (int s = 0; s < n; s++) {
            qs[s + 1] = qs[s] + newTokens[s];
        }
        int[] slots = new int[qs[n]];
        for (int s = 0; s < n; s++) {
            for (int i = 0; i < newTokens[s]; i++) {
                int pos = lens[s] - newTokens[s] + i;
                boolean cached = i == 0 && firstCached != null && firstCached[s];
                slots[qs[s] + i] = cached ? -1 : tables[s][pos / BLOCK] * BLOCK + pos % BLOCK;
            }
        }
        return new AttentionMetadata(qs, lens.clone(), tables, slots, BLOCK);
    }

    static String describe(int[][] seqs) {
        StringBuilder sb = new StringBuilder("[");
        for (int[] s : seqs) {
            sb.append(sb.length() > 1 ? " " : "").append(s[0]).append('+').append(s[1]);
        }
        return sb.append(']').toString();
    }
}
