package dev.jlight.core.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Bad requests are refused before anything enters the batch, naming the parameter. Pool: 10 blocks of 4. */
class AdmissionTest {
    private final Harness h = new Harness(10, 4, Harness.options(32, 2048, 256));

    private void rejects(String param, int[] prompt, SamplingParams p) {
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> h.core.add(new EngineRequest("x", prompt, p), new CollectingSink()));
        assertEquals(param, e.param(), e.getMessage());
        assertTrue(e instanceof dev.jlight.core.JLightException);
        assertNothingLeaked();
    }

    private void assertNothingLeaked() {
        h.core.checkInvariants();
        assertFalse(h.core.hasWork());
        assertTrue(h.core.liveRequests().isEmpty());
        EngineMetrics m = h.core.metrics();
        assertEquals(0, m.requestsAdmitted());
        assertEquals(0.0, m.kvUsage());
    }

    @Test
    void promptChecks() {
        rejects("prompt", new int[0], SamplingParams.greedy(1));
        rejects("prompt", new int[] {1, Harness.VOCAB}, SamplingParams.greedy(1));
        rejects("prompt", new int[] {-1}, SamplingParams.greedy(1));
        rejects("prompt", Harness.prompt(1, 32), SamplingParams.greedy(1));    // no room for one output token
        assertThrows(InvalidRequestException.class, () -> new EngineRequest("x", null, null));
    }

    @Test
    void lengthChecks() {
        rejects("max_tokens", Harness.prompt(1, 20), SamplingParams.greedy(13));  // 33 > max_model_len 32
        rejects("min_tokens", Harness.prompt(1, 30), SamplingParams.builder().minTokens(5).build()); // default max 2
    }

    @Test
    void poolChecks() {
        // 10 blocks of 4 hold 40 tokens; max_model_len 64 lets a request ask for more than the pool.
        Harness big = new Harness(10, 4, Harness.options(64, 2048, 256));
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> big.core.add(
                new EngineRequest("x", Harness.prompt(1, 30), SamplingParams.greedy(12)), new CollectingSink()));
        assertEquals("max_tokens", e.param());
        e = assertThrows(InvalidRequestException.class, () -> big.core.add(
                new EngineRequest("x", Harness.prompt(1, 41), SamplingParams.greedy(1)), new CollectingSink()));
        assertEquals("prompt", e.param());
        // Exactly fits: 30 + 11 - 1 = 40 tokens.
        big.core.add(new EngineRequest("ok", Harness.prompt(1, 30), SamplingParams.greedy(11)), new CollectingSink());
        // No max_tokens: the default is cut to what the pool holds (41 - 30 = 11).
        CollectingSink s = new CollectingSink();
        big.core.add(new EngineRequest("d", Harness.prompt(2, 30), SamplingParams.builder().temperature(0)
                .ignoreEos(true).build()), s);
        while (big.core.hasWork()) {
            big.core.step();
            big.core.checkInvariants();
        }
        assertEquals(11, s.tokens(0).size());
    }

    @Test
    void vocabularyChecks() {
        rejects("logit_bias", Harness.prompt(1, 4), SamplingParams.builder().logitBias(Map.of(Harness.VOCAB, 1.0)).build());
        rejects("stop_token_ids", Harness.prompt(1, 4), SamplingParams.builder().stopTokenIds(Set.of(1000)).build());
    }

    @Test
    void duplicateLiveIdIsRefused() {
        h.core.add(new EngineRequest("x", Harness.prompt(1, 4), SamplingParams.greedy(2)), new CollectingSink());
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> h.core.add(new EngineRequest("x", Harness.prompt(1, 4), SamplingParams.greedy(2)), new CollectingSink()));
        assertEquals("request_id", e.param());
        assertEquals(1, h.core.metrics().requestsAdmitted());
    }
}
