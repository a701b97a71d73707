package dev.jlight.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jlight.core.backend.Tensor;
import dev.jlight.core.engine.sample.Sampler;
import dev.jlight.core.model.DeviceSampling;
import dev.jlight.core.weights.DType;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link CudaBackend#sample} (sampling.cu) against the host {@link Sampler}'s twin of the op
 * ({@code Sampler.sample(logits, offset, spec, row)}) on random logits: greedy with exact ties,
 * -inf and NaN entries; temperature / top_k / top_p / min_p with the same uniforms (well
 * separated Gaussian logits, so the same token is required, not a near one); and the empirical
 * distribution of many draws against the exact one (chi-square).
 */
@Tag("gpu")
class CudaSamplingTest {
    static CudaBackend gpu;

    @BeforeAll
    static void open() {
        gpu = GpuHarness.openGpu(4L << 30);
        System.out.println("cuda sampling test on " + gpu.describe());
    }

    @AfterAll
    static void close() throws Exception {
        GpuHarness.closeAll(gpu);
    }

    /** Runs the device op on host logits [rows, vocab]; returns the ids. */
    static int[] sampleOnDevice(float[] logits, int rows, int vocab, DeviceSampling spec) {
        Tensor l = gpu.allocate(DType.F32, rows, vocab);
        Tensor p = gpu.allocate(DType.I32, rows, 2L * DeviceSampling.FIELDS);
        Tensor ids = gpu.allocate(DType.I32, rows, 1);
        gpu.upload(l, MemorySegment.ofArray(logits));
        gpu.upload(p, MemorySegment.ofArray(spec.packed()));
        int[] sentinel = new int[rows];
        Arrays.fill(sentinel, -7);
        gpu.upload(ids, MemorySegment.ofArray(sentinel));
        gpu.sample(ids, l, p);
        int[] out = new int[rows];
        gpu.download(ids, MemorySegment.ofArray(out));
        return out;
    }

    static int[] sampleOnHost(float[] logits, int rows, int vocab, DeviceSampling spec) {
        Sampler s = new Sampler(vocab, Set.of());
        int[] out = new int[rows];
        for (int r = 0; r < rows; r++) {
            out[r] = s.sample(logits, r * vocab, spec, r);
        }
        return out;
    }

    /** Gaussian logits, or (levels > 0) drawn from that many values, so many tokens tie exactly. */
    static float[] logits(Random r, int rows, int vocab, int levels) {
        float[] l = new float[rows * vocab];
        for (int i = 0; i < l.length; i++) {
            l[i] = levels > 0 ? r.nextInt(levels) * 0.5f : (float) (r.nextGaussian() * 4);
        }
        return l;
    }

    static Stream<Arguments> shapes() {
        return Stream.of(Arguments.of(1, 1), Arguments.of(3, 31), Arguments.of(64, 1000), Arguments.of(7, 32000),
                Arguments.of(64, 128256), Arguments.of(2, 151936), Arguments.of(300, 257));
    }

    @ParameterizedTest(name = "greedy(R={0},V={1})")
    @MethodSource("shapes")
    void greedyIsTheHostArgmaxWithTies(int rows, int vocab) {
        Random r = new Random(rows * 31L + vocab);
        for (int levels : new int[] {0, 3}) {
            float[] l = logits(r, rows, vocab, levels);
            if (rows > 2) {
                Arrays.fill(l, 0, vocab, Float.NEGATIVE_INFINITY);         // all -inf: token 0
                l[vocab + vocab / 2] = Float.NaN;                           // NaN never wins
            }
            DeviceSampling spec = DeviceSampling.greedy(rows);
            assertArrayEquals(sampleOnHost(l, rows, vocab, spec), sampleOnDevice(l, rows, vocab, spec),
                    "greedy R=" + rows + " V=" + vocab + " levels=" + levels);
        }
    }

    @ParameterizedTest(name = "sampled(R={0},V={1})")
    @MethodSource("shapes")
    void sampledRowsPickTheHostTokenForTheSameUniform(int rows, int vocab) {
        Random r = new Random(rows * 17L + vocab);
        double[] temps = {0, 0.5, 1, 1.7};
        int[] ks = {0, 1, 20, 1000};
        double[] ps = {1, 0.95, 0.6};
        double[] minPs = {0, 0.03};
        for (int levels : new int[] {0, 5}) {      // levels 5: exact ties at the top_k / top_p cut
            float[] l = logits(r, rows, vocab, levels);
            double[] t = new double[rows];
            int[] k = new int[rows];
            double[] p = new double[rows];
            double[] m = new double[rows];
            double[] u = new double[rows];
            for (int i = 0; i < rows; i++) {
                t[i] = temps[r.nextInt(temps.length)];
                k[i] = ks[r.nextInt(ks.length)];
                p[i] = ps[r.nextInt(ps.length)];
                m[i] = minPs[r.nextInt(minPs.length)];
                u[i] = r.nextDouble();
            }
            DeviceSampling spec = new DeviceSampling(t, k, p, m, u);
            int[] want = sampleOnHost(l, rows, vocab, spec);
            int[] got = sampleOnDevice(l, rows, vocab, spec);
            for (int i = 0; i < rows; i++) {
                assertEquals(want[i], got[i], String.format(Locale.ROOT,
                        "R=%d V=%d levels=%d row %d: T=%s top_k=%d top_p=%s min_p=%s u=%s", rows, vocab, levels, i,
                        t[i], k[i], p[i], m[i], u[i]));
            }
        }
    }

    /** Many draws of one distribution: the counts follow the exact probabilities (chi-square). */
    @Test
    void drawsFollowTheFilteredDistribution() {
        int vocab = 40;
        int draws = 40_000;
        Random r = new Random(5);
        float[] row = logits(r, 1, vocab, 0);
        for (int i = 0; i < vocab; i++) {
            row[i] *= 0.3f;                                  // a flat-ish distribution: many tokens in play
        }
        float[] l = new float[draws * vocab];
        for (int d = 0; d < draws; d++) {
            System.arraycopy(row, 0, l, d * vocab, vocab);
        }
        double[] t = new double[draws];
        int[] k = new int[draws];
        double[] p = new double[draws];
        double[] m = new double[draws];
        double[] u = new double[draws];
        for (int d = 0; d < draws; d++) {
            t[d] = 0.9;
            k[d] = 25;
            p[d] = 0.8;
            u[d] = r.nextDouble();
        }
        int[] got = sampleOnDevice(l, draws, vocab, new DeviceSampling(t, k, p, m, u));
        // the exact distribution: the host twin over a fine grid of uniforms
        int grid = 200_000;
        double[] expected = new double[vocab];
        Sampler s = new Sampler(vocab, Set.of());
        DeviceSampling one;
        for (int j = 0; j < grid; j++) {
            one = new DeviceSampling(new double[] {0.9}, new int[] {25}, new double[] {0.8}, new double[1],
                    new double[] {(j + 0.5) / grid});
            expected[s.sample(row, 0, one, 0)] += 1.0 / grid;
        }
        int[] counts = new int[vocab];
        for (int id : got) {
            counts[id]++;
        }
        double chi2 = 0;
        int df = -1;
        for (int i = 0; i < vocab; i++) {
            if (expected[i] == 0) {
                assertEquals(0, counts[i], "token " + i + " is filtered out but was drawn");
                continue;
            }
            double e = expected[i] * draws;
            chi2 += (counts[i] - e) * (counts[i] - e) / e;
            df++;
        }
        System.out.printf(Locale.ROOT, "chi-square %.1f with %d degrees of freedom%n", chi2, df);
        assertTrue(df >= 5, "too few tokens kept: " + df);
        // mean df, sd sqrt(2 df): 6 sd above the mean fails only for a wrong distribution
        assertTrue(chi2 < df + 6 * Math.sqrt(2.0 * df), "chi-square " + chi2 + " with " + df + " degrees of freedom");
    }
}
