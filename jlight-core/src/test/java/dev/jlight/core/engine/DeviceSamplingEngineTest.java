package dev.jlight.core.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The engine picks tokens through {@code Model.forwardSampled} when the model can and every row
 * allows it, and the outputs are the host sampler's: same greedy tokens, same seeded samples.
 */
class DeviceSamplingEngineTest {

    /** Runs the requests (one choice each) to the end; returns each one's tokens. */
    private static List<List<Integer>> run(boolean device, List<SamplingParams> params, long[] sampledCalls) {
        Harness h = new Harness(64, 4, Harness.options(128, 64, 8));
        h.model.deviceSampling = device;
        List<CollectingSink> sinks = new ArrayList<>();
        for (int i = 0; i < params.size(); i++) {
            sinks.add(h.submit("r" + i, Harness.prompt(i, 5 + i), params.get(i)));
        }
        h.runAll();
        sampledCalls[0] = h.model.sampledCalls;
        assertEquals(h.model.sampledCalls, h.core.deviceSampledSteps());
        List<List<Integer>> out = new ArrayList<>();
        for (CollectingSink s : sinks) {
            assertNull(s.error);
            out.add(s.tokens(0));
        }
        return out;
    }

    private static SamplingParams.Builder random(long seed) {
        return SamplingParams.builder().temperature(0.8).seed(seed).maxTokens(12).ignoreEos(true);
    }

    @Test
    void greedyAndSeededSamplingGiveTheHostSamplersTokens() {
        List<SamplingParams> ps = List.of(SamplingParams.greedy(12), random(1).build(), random(2).topK(5).build(),
                random(3).topP(0.6).build(), random(4).minP(0.1).topK(9).topP(0.9).build());
        long[] host = new long[1];
        long[] dev = new long[1];
        List<List<Integer>> onHost = run(false, ps, host);
        List<List<Integer>> onDevice = run(true, ps, dev);
        assertEquals(onHost, onDevice);
        assertEquals(0, host[0]);
        assertTrue(dev[0] > 0, "no step sampled on the device");
    }

    @Test
    void oneIneligibleRowSendsTheWholeStepToTheHost() {
        List<SamplingParams> ps = List.of(random(5).build(), random(6).logprobs(2).build());
        long[] dev = new long[1];
        List<List<Integer>> onDevice = run(true, ps, dev);
        assertEquals(run(false, ps, new long[1]), onDevice);
        // the logprobs request is present from the first decode step to its end: only steps
        // where it is not scheduled may sample on the device; here both run every step
        assertEquals(0, dev[0]);
    }

    @Test
    void penaltiesAndBiasKeepTheirEffectByStayingOnTheHost() {
        List<SamplingParams> ps = List.of(random(7).repetitionPenalty(1.3).build(),
                random(8).logitBias(Map.of(3, 50.0)).build(), random(9).minTokens(4).ignoreEos(false).build());
        assertEquals(run(false, ps, new long[1]), run(true, ps, new long[1]));
    }
}
