package dev.jlight.core.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Thousands of random add / abort / step operations on a tiny pool, with every invariant checked
 * after each one; greedy requests that ran to the end must equal the reference.
 */
class EngineStressTest {

    private record Submitted(int[] prompt, SamplingParams params, CollectingSink sink) {
    }

    @Test
    void randomOperationsKeepEveryInvariant() {
        for (long seed = 1; seed <= 3; seed++) {
            run(seed, seed == 2);
        }
    }

    private void run(long seed, boolean caching) {
        SplittableRandom r = new SplittableRandom(seed);
        Harness h = new Harness(12, 4, Harness.options(40, 2 + r.nextInt(30), 1 + r.nextInt(8)).withPrefixCaching(caching));
        Map<String, Submitted> all = new HashMap<>();
        List<String> ids = new ArrayList<>();
        int next = 0;
        int aborts = 0;
        for (int op = 0; op < 1500; op++) {
            int kind = r.nextInt(10);
            if (kind < 3) {
                String id = "q" + next++;
                int len = 1 + r.nextInt(r.nextBoolean() ? 8 : 30);
                // Shared prefixes make prefix-cache hits common.
                int[] prompt = Harness.prompt(r.nextInt(3), len);
                if (r.nextBoolean()) {
                    prompt[len - 1] = r.nextInt(Harness.VOCAB);
                }
                SamplingParams p = randomParams(r, 40 - len);
                try {
                    CollectingSink s = h.submit(id, prompt, p);
                    all.put(id, new Submitted(prompt, p, s));
                    ids.add(id);
                } catch (InvalidRequestException e) {
                    assertTrue(len + 9 > 40 || p.maxTokens() != null, e.getMessage());
                }
            } else if (kind < 4 && !ids.isEmpty()) {
                String id = ids.get(r.nextInt(ids.size()));
                aborts += h.core.abort(id) ? 1 : 0;
            } else {
                h.core.step();
            }
            h.core.checkInvariants();
        }
        h.runAll();
        assertTrue(aborts > 0);
        EngineMetrics m = h.core.metrics();
        assertEquals(0.0, m.kvUsage());
        assertEquals(0, m.running() + m.waiting());
        assertEquals(all.size(), m.requestsAdmitted());
        assertEquals(m.requestsAdmitted(), m.requestsFinished() + m.requestsAborted());
        assertTrue(m.steps() > 100);
        int checked = 0;
        for (Submitted s : all.values()) {
            assertTrue(s.sink.finished());
            assertNull(s.sink.error);
            for (int c = 0; c < s.params.n(); c++) {
                FinishReason fr = s.sink.finishReason(c);
                if (fr == FinishReason.ABORT) {
                    continue;
                }
                assertTrue(s.sink.tokens(c).size() <= s.params.maxTokens());
                if (s.params.isGreedy() && s.params.stop().isEmpty() && s.params.repetitionPenalty() == 1.0) {
                    assertEquals(Harness.referenceGreedy(s.prompt, s.params.maxTokens(), false), s.sink.tokens(c));
                    checked++;
                }
            }
        }
        assertTrue(checked > 10, "checked " + checked);
    }

    private static SamplingParams randomParams(SplittableRandom r, int room) {
        SamplingParams.Builder b = SamplingParams.builder().maxTokens(1 + r.nextInt(Math.max(1, Math.min(room, 12))));
        switch (r.nextInt(4)) {
            case 0 -> b.temperature(0);
            case 1 -> b.temperature(0).stop("ab", "c");
            case 2 -> b.seed(r.nextLong()).temperature(0.5 + r.nextDouble()).topK(r.nextInt(10)).n(1 + r.nextInt(3));
            default -> b.temperature(1).topP(0.5 + r.nextDouble() * 0.5).repetitionPenalty(1.2).logprobs(r.nextInt(3));
        }
        return b.build();
    }
}
