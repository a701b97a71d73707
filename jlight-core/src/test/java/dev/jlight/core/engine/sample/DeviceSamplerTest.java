package dev.jlight.core.engine.sample;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jlight.core.engine.SamplingParams;
import dev.jlight.core.model.DeviceSampling;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class DeviceSamplerTest {
    private static final Set<Integer> EOS = Set.of(3);

    private static boolean eligible(SamplingParams p) {
        return DeviceSampler.eligible(Ctx.of(p), EOS);
    }

    @Test
    void onlyTemperatureTopKTopPMinPAreEligible() {
        SamplingParams.Builder b = SamplingParams.builder().temperature(0.7).topK(20).topP(0.9).minP(0.05);
        assertTrue(eligible(b.build()));
        assertTrue(eligible(SamplingParams.greedy(4)));
        assertFalse(eligible(b.build().toBuilder().logprobs(0).build()));
        assertFalse(eligible(b.build().toBuilder().logitBias(Map.of(1, 2.0)).build()));
        assertFalse(eligible(b.build().toBuilder().repetitionPenalty(1.1).build()));
        assertFalse(eligible(b.build().toBuilder().frequencyPenalty(0.5).build()));
        assertFalse(eligible(b.build().toBuilder().presencePenalty(-0.5).build()));
    }

    @Test
    void minTokensIsIneligibleOnlyWhileItMasksStopTokens() {
        SamplingParams p = SamplingParams.builder().minTokens(2).build();
        Ctx ctx = Ctx.of(p);
        assertFalse(DeviceSampler.eligible(ctx.withTokens(new int[] {5}, new int[] {1}), EOS));
        assertTrue(DeviceSampler.eligible(ctx.withTokens(new int[] {5}, new int[] {1, 2}), EOS));
        // nothing to mask: no EOS ids and no stop tokens
        assertTrue(DeviceSampler.eligible(ctx, Set.of()));
        SamplingParams ignoring = SamplingParams.builder().minTokens(2).ignoreEos(true).build();
        assertTrue(DeviceSampler.eligible(Ctx.of(ignoring), EOS));
        SamplingParams stops = ignoring.toBuilder().stopTokenIds(Set.of(7)).build();
        assertFalse(DeviceSampler.eligible(Ctx.of(stops), EOS));
    }

    @Test
    void specDrawsOneUniformPerRandomRowAndNoneForGreedy() {
        Ctx greedy = Ctx.of(SamplingParams.greedy(3));
        Ctx random = Ctx.of(SamplingParams.builder().temperature(1.5).topK(7).topP(0.8).minP(0.1).seed(42L).build());
        DeviceSampling s = DeviceSampler.spec(List.of(greedy, random));
        assertTrue(s.isGreedy(0));
        assertEquals(0, s.uniform()[0]);
        assertEquals(1.5, s.temperature()[1]);
        assertEquals(7, s.topK()[1]);
        assertEquals(0.8, s.topP()[1]);
        assertEquals(0.1, s.minP()[1]);
        assertEquals(new SplittableRandom(42).nextDouble(), s.uniform()[1]);
        // the greedy row's RNG was not touched
        assertEquals(new SplittableRandom(0).nextDouble(), greedy.rng().nextDouble());
    }

    /**
     * The spec path (what a backend's sample op must reproduce) picks the host sampler's token
     * for every row when it gets the uniform the host sampler would draw.
     */
    @Test
    void specPathPicksTheHostSamplersTokens() {
        SplittableRandom r = new SplittableRandom(3);
        int vocab = 300;
        Sampler host = new Sampler(vocab, EOS);
        Sampler device = new Sampler(vocab, EOS);
        double[] temps = {0, 0.3, 1, 2};
        int[] ks = {0, 1, 5, 100};
        double[] ps = {1, 0.95, 0.5};
        double[] minPs = {0, 0.02};
        int n = 0;
        for (double t : temps) {
            for (int k : ks) {
                for (double p : ps) {
                    for (double m : minPs) {
                        float[] logits = new float[vocab];
                        int levels = n % 2 == 0 ? 0 : 6;     // every other case full of exact ties
                        for (int i = 0; i < vocab; i++) {
                            logits[i] = levels == 0 ? (float) (r.nextGaussian() * 3) : r.nextInt(levels) * 0.5f;
                        }
                        SamplingParams sp = SamplingParams.builder().temperature(t).topK(k).topP(p).minP(m)
                                .seed((long) n).build();
                        Ctx a = Ctx.of(sp);
                        Ctx b = Ctx.of(sp);
                        for (int draw = 0; draw < 20; draw++) {
                            int want = host.sample(logits, 0, a).tokenId();
                            DeviceSampling spec = DeviceSampler.spec(List.of(b));
                            assertEquals(want, device.sample(logits, 0, spec, 0), "case " + sp + " draw " + draw);
                        }
                        n++;
                    }
                }
            }
        }
    }
}
