package dev.jlight.core.engine.sample;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jlight.core.engine.Logprob;
import dev.jlight.core.engine.SamplingParams;
import dev.jlight.core.engine.TokenLogprobs;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private static final Set<Integer> EOS = Set.of(3);

    private static SamplingParams.Builder greedy() {
        return SamplingParams.builder().temperature(0);
    }

    private static int pick(float[] logits, SamplingContext ctx) {
        return new Sampler(logits.length, EOS).sample(logits, 0, ctx).tokenId();
    }

    /** Draw counts per token over {@code draws} samples with one context (one RNG). */
    private static int[] histogram(float[] logits, SamplingParams p, int draws) {
        Sampler s = new Sampler(logits.length, EOS);
        Ctx ctx = Ctx.of(p);
        int[] h = new int[logits.length];
        for (int i = 0; i < draws; i++) {
            h[s.sample(logits, 0, ctx).tokenId()]++;
        }
        return h;
    }

    private static float[] logOf(double... probs) {
        float[] l = new float[probs.length];
        for (int i = 0; i < probs.length; i++) {
            l[i] = (float) Math.log(probs[i]);
        }
        return l;
    }

    @Test
    void greedyIsArgmaxWithTiesToTheLowestId() {
        assertEquals(2, pick(new float[] {1, 2, 5, 5, -1}, Ctx.of(greedy().build())));
        assertEquals(0, pick(new float[] {7, 7, 7}, Ctx.of(greedy().build())));
        assertEquals(1, pick(new float[] {Float.NaN, 1, 0}, Ctx.of(greedy().build())));
    }

    @Test
    void logitBiasMovesGreedy() {
        float[] l = {1, 2, 0, 0};
        assertEquals(0, pick(l, Ctx.of(greedy().logitBias(Map.of(0, 1.5)).build())));
        assertEquals(2, pick(l, Ctx.of(greedy().logitBias(Map.of(0, -100.0, 1, -100.0, 2, 0.5)).build())));
    }

    @Test
    void minTokensSuppressesEosAndStopIdsUntilReached() {
        float[] l = {0, 1, 5, 9, 0};                        // EOS (3) is the favourite, then stop id 2
        SamplingParams p = greedy().minTokens(2).stopTokenIds(Set.of(2)).build();
        Ctx ctx = Ctx.of(p);
        assertEquals(1, pick(l, ctx.withTokens(new int[] {0}, new int[] {})));
        assertEquals(1, pick(l, ctx.withTokens(new int[] {0}, new int[] {1})));
        assertEquals(3, pick(l, ctx.withTokens(new int[] {0}, new int[] {1, 1})));
        // ignore_eos: EOS is not a stop token, so min_tokens leaves it alone (vLLM).
        SamplingParams q = greedy().minTokens(2).ignoreEos(true).build();
        assertEquals(3, pick(l, Ctx.of(q).withTokens(new int[] {0}, new int[] {})));
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogits() {
        SamplingParams p = greedy().repetitionPenalty(1.5).build();
        // Token 0 (in the prompt): 2 / 1.5 = 1.33 < 1.9.
        assertEquals(1, pick(new float[] {2f, 1.9f, -9f}, Ctx.of(p).withTokens(new int[] {0}, new int[] {})));
        assertEquals(0, pick(new float[] {2f, 1.9f, -9f}, Ctx.of(p).withTokens(new int[] {2}, new int[] {})));
        // Token 0 (in the output) at -1: * 1.5 = -1.5 < -1.2.
        float[] neg = {-1f, -1.2f, -9f};
        assertEquals(1, pick(neg, Ctx.of(p).withTokens(new int[] {2}, new int[] {0})));
        assertEquals(0, pick(neg, Ctx.of(greedy().build()).withTokens(new int[] {2}, new int[] {0})));
        // Counted once however often it occurs.
        assertEquals(0, pick(new float[] {2f, 1.2f}, Ctx.of(p).withTokens(new int[] {0, 0, 0}, new int[] {0, 0})));
    }

    @Test
    void frequencyAndPresencePenaltiesCountOutputTokensOnly() {
        float[] l = {1.0f, 0.9f};
        int[] prompt = {0, 0, 0, 0};
        int[] out = {0, 0};
        assertEquals(1, pick(l, Ctx.of(greedy().frequencyPenalty(0.1).build()).withTokens(prompt, out)),
                "1.0 - 2 * 0.1 = 0.8 < 0.9");
        assertEquals(0, pick(l, Ctx.of(greedy().presencePenalty(0.05).build()).withTokens(prompt, out)),
                "1.0 - 0.05 = 0.95 > 0.9");
        assertEquals(1, pick(l, Ctx.of(greedy().presencePenalty(0.2).build()).withTokens(prompt, out)));
        assertEquals(0, pick(l, Ctx.of(greedy().frequencyPenalty(2).build()).withTokens(prompt, new int[0])),
                "prompt tokens are not penalized");
        assertEquals(0, pick(new float[] {0.5f, 0.9f}, Ctx.of(greedy().frequencyPenalty(-0.3).build())
                .withTokens(prompt, out)), "negative penalties encourage repeats");
    }

    @Test
    void temperatureSamplesTheSoftmax() {
        float[] l = logOf(0.5, 0.3, 0.2);
        int[] h = histogram(l, SamplingParams.builder().seed(42L).build(), 20_000);
        assertEquals(0.5, h[0] / 20_000.0, 0.02);
        assertEquals(0.3, h[1] / 20_000.0, 0.02);
        assertEquals(0.2, h[2] / 20_000.0, 0.02);
        // T = 2 flattens: p ~ sqrt(p) normalized.
        h = histogram(l, SamplingParams.builder().seed(42L).temperature(2).build(), 20_000);
        double z = Math.sqrt(0.5) + Math.sqrt(0.3) + Math.sqrt(0.2);
        assertEquals(Math.sqrt(0.2) / z, h[2] / 20_000.0, 0.02);
    }

    @Test
    void topKKeepsTheKMostLikely() {
        float[] l = logOf(0.4, 0.1, 0.3, 0.2);
        int[] h = histogram(l, SamplingParams.builder().seed(1L).topK(2).build(), 5_000);
        assertEquals(0, h[1] + h[3]);
        assertEquals(0.4 / 0.7, h[0] / 5_000.0, 0.03);
        h = histogram(l, SamplingParams.builder().seed(1L).topK(1).build(), 100);
        assertEquals(100, h[0]);
        // Ties with the k-th are kept.
        h = histogram(new float[] {1, 1, 1, 0}, SamplingParams.builder().seed(1L).topK(2).build(), 3_000);
        assertTrue(h[0] > 0 && h[1] > 0 && h[2] > 0 && h[3] == 0, Arrays.toString(h));
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        float[] l = logOf(0.5, 0.05, 0.3, 0.15);
        int[] h = histogram(l, SamplingParams.builder().seed(3L).topP(0.7).build(), 5_000);
        assertEquals(0, h[1] + h[3], Arrays.toString(h));
        assertEquals(0.5 / 0.8, h[0] / 5_000.0, 0.03);
        h = histogram(l, SamplingParams.builder().seed(3L).topP(0.81).build(), 5_000);
        assertTrue(h[3] > 0 && h[1] == 0, "0.5+0.3 < 0.81 pulls in 0.15: " + Arrays.toString(h));
        h = histogram(l, SamplingParams.builder().seed(3L).topP(0.5).build(), 200);
        assertEquals(200, h[0], "the first token alone reaches 0.5");
    }

    @Test
    void minPDropsTokensBelowAFractionOfTheTop() {
        float[] l = logOf(0.5, 0.05, 0.3, 0.15);
        int[] h = histogram(l, SamplingParams.builder().seed(5L).minP(0.5).build(), 5_000);
        assertEquals(0, h[1] + h[3], "keeps p >= 0.25");
        assertTrue(h[2] > 0);
    }

    @Test
    void seededSequencesRepeatWhateverElseIsSampled() {
        float[] l = logOf(0.2, 0.2, 0.2, 0.2, 0.2);
        SamplingParams p = SamplingParams.builder().seed(1234L).build();
        Sampler alone = new Sampler(5, EOS);
        Ctx a = Ctx.of(p);
        int[] first = new int[50];
        for (int i = 0; i < 50; i++) {
            first[i] = alone.sample(l, 0, a).tokenId();
        }
        // Same seed, new context, interleaved with other sequences' draws on the same sampler.
        Sampler shared = new Sampler(5, EOS);
        Ctx b = Ctx.of(p);
        Ctx other = new Ctx(SamplingParams.builder().seed(99L).build(), new int[] {0}, new int[0], new SplittableRandom(99));
        int[] second = new int[50];
        for (int i = 0; i < 50; i++) {
            shared.sample(l, 0, other);
            second[i] = shared.sample(l, 0, b).tokenId();
        }
        assertArrayEquals(first, second);
        assertTrue(Arrays.stream(first).distinct().count() > 2, "it does sample");
    }

    @Test
    void logprobsComeFromTheRawDistribution() {
        float[] l = {2f, 1f, 3f, 3f, 0f};
        double lse = Math.log(Math.exp(2) + Math.exp(1) + 2 * Math.exp(3) + Math.exp(0));
        // The bias makes token 1 the greedy pick; its logprob is still the raw one.
        SamplingParams p = greedy().logitBias(Map.of(1, 10.0)).logprobs(3).build();
        SampledToken t = new Sampler(5, EOS).sample(l, 0, Ctx.of(p));
        assertEquals(1, t.tokenId());
        TokenLogprobs lp = t.logprobs();
        assertEquals(1 - lse, lp.logprob(), 1e-5);
        assertEquals(4, lp.rank(), "three tokens are more likely under the raw distribution");
        assertEquals(List.of(2, 3, 0), lp.top().stream().map(Logprob::tokenId).toList());
        assertEquals(3 - lse, lp.top().get(0).logprob(), 1e-5);
        assertEquals(2 - lse, lp.top().get(2).logprob(), 1e-5);
        assertEquals(0, new Sampler(5, EOS).sample(l, 0, Ctx.of(greedy().logitBias(Map.of(0, 5.0)).logprobs(0)
                .build())).logprobs().top().size());
        assertNull(new Sampler(5, EOS).sample(l, 0, Ctx.of(greedy().build())).logprobs());
    }

    @Test
    void samplesFromAnOffsetRow() {
        float[] rows = {9, 0, 0, 0, 0, 9};
        assertEquals(2, new Sampler(3, EOS).sample(rows, 3, Ctx.of(greedy().build())).tokenId());
    }

    @Test
    void kthLargestAgreesWithSorting() {
        SplittableRandom r = new SplittableRandom(7);
        for (int trial = 0; trial < 300; trial++) {
            int n = 1 + r.nextInt(60);
            double[] a = new double[n];
            for (int i = 0; i < n; i++) {
                a[i] = r.nextInt(10);            // many ties
            }
            double[] sorted = a.clone();
            Arrays.sort(sorted);
            int k = 1 + r.nextInt(n);
            assertEquals(sorted[n - k], ProbabilityFilters.kthLargest(a.clone(), n, k));
        }
    }

    @Test
    void topPAgreesWithAFullSort() {
        SplittableRandom r = new SplittableRandom(11);
        ProbabilityFilters f = new ProbabilityFilters(200);
        for (int trial = 0; trial < 300; trial++) {
            int v = 2 + r.nextInt(199);
            double[] p = new double[v];
            for (int i = 0; i < v; i++) {
                p[i] = r.nextInt(4) == 0 ? Math.pow(10, -r.nextInt(12)) : r.nextInt(5) / 4.0;
            }
            double topP = 0.05 + r.nextDouble() * 0.9;
            double[] expected = bruteTopP(p, topP);
            double[] got = p.clone();
            f.topP(got, v, topP);
            assertArrayEquals(expected, got, "trial " + trial);
        }
    }

    private static double[] bruteTopP(double[] p, double topP) {
        Integer[] order = new Integer[p.length];
        for (int i = 0; i < p.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> p[a] != p[b] ? Double.compare(p[b], p[a]) : Integer.compare(a, b));
        double total = Arrays.stream(p).sum();
        double[] out = new double[p.length];
        double cum = 0;
        for (int i : order) {
            if (p[i] <= 0) {
                break;
            }
            out[i] = p[i];
            cum += p[i];
            if (cum >= topP * total) {
                break;
            }
        }
        return out;
    }
}
