package dev.jlight.cpu;

import static dev.jlight.cpu.TestSupport.assertClose;
import static dev.jlight.cpu.TestSupport.random;
import static dev.jlight.cpu.TestSupport.roundTo;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jlight.core.backend.AttentionMetadata;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.backend.KvCacheSpec;
import dev.jlight.core.backend.Tensor;
import dev.jlight.core.weights.DType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * writeKv + paged attention against a double reference over one mixed batch: a fresh prefill, a
 * decode over a long cached prefix, a prefill chunk over a cached prefix (crossing the kernel's
 * key blocks), a first token, and a short chunk over a 130-token prefix; physical blocks are
 * shuffled across sequences, one token's write is skipped (slot -1), and q is a strided view.
 */
class AttentionTest {
    /** (new tokens, tokens in all after the step) per sequence. */
    private static final int[][] SEQS = {{5, 5}, {1, 37}, {17, 70}, {1, 1}, {3, 130}};
    private static CpuBackend backend;

    @BeforeAll
    static void open() {
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    static List<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (DType kv : new DType[] {DType.F32, DType.BF16}) {
            for (int g : new int[] {1, 2, 4, 8}) {
                for (int bs : new int[] {1, 4, 16}) {
                    for (int hd : new int[] {16, 48, 64, 128}) {
                        out.add(Arguments.of(kv, g, bs, hd));
                    }
                }
            }
        }
        return out;
    }

    @ParameterizedTest(name = "attention(kv={0},gqa={1},blockSize={2},headDim={3})")
    @MethodSource("cases")
    void attention(DType kvType, int g, int bs, int hd) {
        check(backend, kvType, g, bs, hd, SEQS, 1234L * g + 17L * bs + hd + kvType.ordinal());
    }

    /** Head dims that leave vector tails, the F16 pool, and G = 32, on a smaller batch. */
    static List<Arguments> oddCases() {
        List<Arguments> out = new ArrayList<>();
        for (int hd : new int[] {20, 80, 96, 256}) {
            out.add(Arguments.of(DType.F16, 4, 16, hd));
            out.add(Arguments.of(DType.F32, 2, 4, hd));
        }
        // more query heads per kv head than a unit's usual 16 rows (multi-query attention)
        out.add(Arguments.of(DType.BF16, 32, 16, 16));
        return out;
    }

    @ParameterizedTest(name = "attention(kv={0},gqa={1},blockSize={2},headDim={3},small batch)")
    @MethodSource("oddCases")
    void attentionOddHeadDims(DType kvType, int g, int bs, int hd) {
        check(backend, kvType, g, bs, hd, new int[][] {{3, 3}, {1, 20}, {4, 70}}, 77L * hd + g);
    }

    /** A pure decode batch of many sequences (the shape of steady-state serving), on 3 threads. */
    @Test
    void decodeBatchOnThreeThreads() {
        int[][] seqs = new int[9][];
        for (int i = 0; i < seqs.length; i++) {
            seqs[i] = new int[] {1, 10 + 9 * i};
        }
        try (CpuBackend b = new CpuBackend(3)) {
            check(b, DType.BF16, 4, 16, 64, seqs, 99);
        }
    }

    private static void check(CpuBackend b, DType kvType, int g, int bs, int hd, int[][] seqs, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int nkv = 2;
        int nh = nkv * g;
        int numSeqs = seqs.length;
        int[] queryStart = new int[numSeqs + 1];
        int[] seqLens = new int[numSeqs];
        int blocksNeeded = 0;
        for (int s = 0; s < numSeqs; s++) {
            queryStart[s + 1] = queryStart[s] + seqs[s][0];
            seqLens[s] = seqs[s][1];
            blocksNeeded += (seqs[s][1] + bs - 1) / bs;
        }
        int numTokens = queryStart[numSeqs];
        int numBlocks = blocksNeeded + 5;
        // shuffled physical blocks, handed out across sequences
        int[] phys = new int[numBlocks];
        for (int i = 0; i < numBlocks; i++) {
            phys[i] = i;
        }
        for (int i = numBlocks - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int tmp = phys[i];
            phys[i] = phys[j];
            phys[j] = tmp;
        }
        int[][] tables = new int[numSeqs][];
        int next = 0;
        for (int s = 0; s < numSeqs; s++) {
            tables[s] = new int[(seqLens[s] + bs - 1) / bs + 1]; // one spare entry, as a block manager may keep
            for (int i = 0; i < tables[s].length; i++) {
                tables[s][i] = i < tables[s].length - 1 ? phys[next++] : -1;
            }
        }
        int width = nkv * hd;
        // K/V of every position of every sequence, as the cache will hold them
        float[][] keys = new float[numSeqs][];
        float[][] vals = new float[numSeqs][];
        for (int s = 0; s < numSeqs; s++) {
            keys[s] = roundTo(kvType, random(rnd, seqLens[s] * width, 1));
            vals[s] = roundTo(kvType, random(rnd, seqLens[s] * width, 1));
        }
        KvCacheSpec spec = new KvCacheSpec(2, numBlocks, bs, nkv, hd, kvType);
        int layer = 1;
        try (KvCache cache = b.allocateKvCache(spec)) {
            // 1. the cached prefix (positions before the step's tokens), written as an earlier step would
            List<float[]> pk = new ArrayList<>();
            List<float[]> pv = new ArrayList<>();
            List<Integer> pSlots = new ArrayList<>();
            int skipSeq = -1;
            for (int s = 0; s < numSeqs; s++) {
                int first = seqLens[s] - seqs[s][0];
                // the first new token of a multi-token chunk is "already cached": written here, skipped in the step
                int upTo = seqs[s][0] > 1 && skipSeq < 0 ? first + 1 : first;
                if (upTo > first) {
                    skipSeq = s;
                }
                for (int p = 0; p < upTo; p++) {
                    pk.add(Arrays.copyOfRange(keys[s], p * width, (p + 1) * width));
                    pv.add(Arrays.copyOfRange(vals[s], p * width, (p + 1) * width));
                    pSlots.add(slot(tables[s], bs, p));
                }
            }
            if (!pSlots.isEmpty()) {
                int n = pSlots.size();
                AttentionMetadata pre = new AttentionMetadata(new int[] {0, n}, new int[] {n}, new int[][] {{}},
                        pSlots.stream().mapToInt(Integer::intValue).toArray(), bs);
                b.writeKv(cache, layer, TestSupport.input(b, flat(pk), n, width, true),
                        TestSupport.input(b, flat(pv), n, width, false), pre);
            }
            // 2. the step: its tokens' K/V (the skipped one carries garbage that must not land)
            int[] slots = new int[numTokens];
            float[] stepK = new float[numTokens * width];
            float[] stepV = new float[numTokens * width];
            for (int s = 0; s < numSeqs; s++) {
                int first = seqLens[s] - seqs[s][0];
                for (int i = 0; i < seqs[s][0]; i++) {
                    int t = queryStart[s] + i;
                    int p = first + i;
                    boolean skip = s == skipSeq && i == 0;
                    slots[t] = skip ? -1 : slot(tables[s], bs, p);
                    for (int c = 0; c < width; c++) {
                        stepK[t * width + c] = skip ? 1000f : keys[s][p * width + c];
                        stepV[t * width + c] = skip ? -1000f : vals[s][p * width + c];
                    }
                }
            }
            AttentionMetadata meta = new AttentionMetadata(queryStart, seqLens, tables, slots, bs);
            b.writeKv(cache, layer, TestSupport.input(b, stepK, numTokens, width, false),
                    TestSupport.input(b, stepV, numTokens, width, true), meta);

            float[] q = random(rnd, numTokens * nh * hd, 2.5);
            float scale = (float) (1 / Math.sqrt(hd));
            TestSupport.Padded out = new TestSupport.Padded(b, numTokens, nh * hd);
            b.attention(out.view, TestSupport.input(b, q, numTokens, nh * hd, true), cache, layer, meta, nh, scale);
            out.checkSentinels("attention");
            assertClose("attention", reference(q, keys, vals, seqs, queryStart, nh, nkv, hd, scale), out.values());
        }
    }

    private static int slot(int[] table, int bs, int p) {
        return table[p / bs] * bs + p % bs;
    }

    private static float[] flat(List<float[]> rows) {
        int w = rows.get(0).length;
        float[] out = new float[rows.size() * w];
        for (int i = 0; i < rows.size(); i++) {
            System.arraycopy(rows.get(i), 0, out, i * w, w);
        }
        return out;
    }

    static double[] reference(float[] q, float[][] keys, float[][] vals, int[][] seqs, int[] queryStart, int nh,
                              int nkv, int hd, float scale) {
        int width = nkv * hd;
        int g = nh / nkv;
        double[] out = new double[queryStart[seqs.length] * nh * hd];
        for (int s = 0; s < seqs.length; s++) {
            int qLen = seqs[s][0];
            int seqLen = seqs[s][1];
            for (int i = 0; i < qLen; i++) {
                int t = queryStart[s] + i;
                int p = seqLen - qLen + i;
                for (int h = 0; h < nh; h++) {
                    int kvh = h / g;
                    double[] sc = new double[p + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= p; j++) {
                        double d = 0;
                        for (int c = 0; c < hd; c++) {
                            d += (double) q[t * nh * hd + h * hd + c] * keys[s][j * width + kvh * hd + c];
                        }
                        sc[j] = d * scale;
                        max = Math.max(max, sc[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= p; j++) {
                        sc[j] = Math.exp(sc[j] - max);
                        sum += sc[j];
                    }
                    for (int c = 0; c < hd; c++) {
                        double o = 0;
                        for (int j = 0; j <= p; j++) {
                            o += sc[j] * vals[s][j * width + kvh * hd + c];
                        }
                        out[t * nh * hd + h * hd + c] = o / sum;
                    }
                }
            }
        }
        return out;
    }

    @Test
    void cacheLayoutKeepsEachHeadOfABlockContiguous() {
        KvCacheSpec spec = new KvCacheSpec(1, 3, 4, 2, 8, DType.F32);
        try (CpuKvCache cache = (CpuKvCache) backend.allocateKvCache(spec)) {
            assertEquals(0, cache.index(0, 0, 0));
            assertEquals(8, cache.index(1, 0, 0), "next slot, same head: next headDim run");
            assertEquals(4 * 8, cache.index(0, 1, 0), "next head: after the block's slots of head 0");
            assertEquals(2 * 4 * 8 + 8 + 3, cache.index(5, 0, 3), "slot 5 = block 1, offset 1");
        }
    }

    @Test
    void writeKvStoresRoundedValuesAtTheirSlots() {
        KvCacheSpec spec = new KvCacheSpec(1, 3, 4, 2, 8, DType.BF16);
        try (CpuKvCache cache = (CpuKvCache) backend.allocateKvCache(spec)) {
            float[] k = random(new SplittableRandom(1), 2 * 16, 3);
            float[] v = random(new SplittableRandom(2), 2 * 16, 3);
            AttentionMetadata meta = new AttentionMetadata(new int[] {0, 2}, new int[] {2}, new int[][] {{2}},
                    new int[] {9, -1}, 4);
            backend.writeKv(cache, 0, CpuTensor.of(k, 2, 16), CpuTensor.of(v, 2, 16), meta);
            for (int slot = 0; slot < 12; slot++) {
                for (int c = 0; c < 16; c++) {
                    long at = cache.index(slot, c / 8, c % 8);
                    float gotK = Vec.load(DType.BF16, cache.keys(0), at);
                    float gotV = Vec.load(DType.BF16, cache.values(0), at);
                    float wantK = slot == 9 ? DType.bf16ToFloat(DType.floatToBf16(k[c])) : 0f;
                    float wantV = slot == 9 ? DType.bf16ToFloat(DType.floatToBf16(v[c])) : 0f;
                    assertEquals(wantK, gotK, "K slot " + slot + " col " + c);
                    assertEquals(wantV, gotV, "V slot " + slot + " col " + c);
                }
            }
        }
    }

    /** Sanity for the harness itself: with one key the output is exactly that key's V. */
    @Test
    void singlePositionReturnsItsValue() {
        KvCacheSpec spec = new KvCacheSpec(1, 2, 16, 1, 16, DType.F32);
        try (KvCache cache = backend.allocateKvCache(spec)) {
            float[] k = random(new SplittableRandom(3), 16, 1);
            float[] v = random(new SplittableRandom(4), 16, 1);
            AttentionMetadata meta = new AttentionMetadata(new int[] {0, 1}, new int[] {1}, new int[][] {{1}},
                    new int[] {16}, 16);
            backend.writeKv(cache, 0, CpuTensor.of(k, 1, 16), CpuTensor.of(v, 1, 16), meta);
            Tensor out = backend.allocate(DType.F32, 1, 32);
            backend.attention(out, CpuTensor.of(random(new SplittableRandom(5), 32, 1), 1, 32), cache, 0, meta, 2, 0.25f);
            float[] got = ((CpuTensor) out).toFloatArray();
            for (int h = 0; h < 2; h++) {
                for (int c = 0; c < 16; c++) {
                    assertEquals(v[c], got[h * 16 + c], 1e-6f);
                }
            }
        }
    }
}
