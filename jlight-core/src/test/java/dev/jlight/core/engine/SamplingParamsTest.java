package dev.jlight.core.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class SamplingParamsTest {

    private static void rejects(String param, UnaryOperator<SamplingParams.Builder> edit) {
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> edit.apply(SamplingParams.builder()).build());
        assertEquals(param, e.param(), e.getMessage());
        assertTrue(e.getMessage().startsWith(param + ": "), e.getMessage());
    }

    @Test
    void defaultsFollowVllm() {
        SamplingParams p = SamplingParams.defaults();
        assertEquals(1.0, p.temperature());
        assertEquals(1.0, p.topP());
        assertEquals(0, p.topK());
        assertEquals(1, p.n());
        assertNull(p.maxTokens());
        assertNull(p.seed());
        assertNull(p.logprobs());
        assertTrue(p.skipSpecialTokens());
        assertFalse(p.includeStopStrInOutput());
        assertFalse(p.isGreedy());
        assertTrue(SamplingParams.greedy(5).isGreedy());
        assertEquals(p, p.toBuilder().build());
    }

    @Test
    void rejectsOutOfRangeAndNaN() {
        rejects("temperature", b -> b.temperature(-0.1));
        rejects("temperature", b -> b.temperature(Double.NaN));
        rejects("temperature", b -> b.temperature(Double.POSITIVE_INFINITY));
        rejects("top_p", b -> b.topP(0));
        rejects("top_p", b -> b.topP(1.01));
        rejects("top_p", b -> b.topP(Double.NaN));
        rejects("top_k", b -> b.topK(-2));
        rejects("min_p", b -> b.minP(-0.01));
        rejects("min_p", b -> b.minP(Double.NaN));
        rejects("repetition_penalty", b -> b.repetitionPenalty(0));
        rejects("repetition_penalty", b -> b.repetitionPenalty(Double.NaN));
        rejects("presence_penalty", b -> b.presencePenalty(2.5));
        rejects("frequency_penalty", b -> b.frequencyPenalty(-2.01));
        rejects("frequency_penalty", b -> b.frequencyPenalty(Double.NaN));
        rejects("logit_bias", b -> b.logitBias(Map.of(5, 101.0)));
        rejects("logit_bias", b -> b.logitBias(Map.of(-1, 1.0)));
        rejects("logit_bias", b -> b.logitBias(Map.of(5, Double.NaN)));
        rejects("n", b -> b.n(0));
        rejects("n", b -> b.n(SamplingParams.MAX_N + 1));
        rejects("max_tokens", b -> b.maxTokens(0));
        rejects("min_tokens", b -> b.minTokens(-1));
        rejects("min_tokens", b -> b.maxTokens(3).minTokens(4));
        rejects("stop", b -> b.stop(""));
        rejects("stop", b -> b.stop("x".repeat(SamplingParams.MAX_STOP_STRING_LENGTH + 1)));
        rejects("stop", b -> b.stop(java.util.Collections.nCopies(SamplingParams.MAX_STOP_STRINGS + 1, "a")));
        rejects("stop", b -> b.stop(Arrays.asList("a", null)));
        rejects("stop_token_ids", b -> b.stopTokenIds(Set.of(-3)));
        rejects("logprobs", b -> b.logprobs(-1));
        rejects("logprobs", b -> b.logprobs(SamplingParams.MAX_LOGPROBS + 1));
    }

    @Test
    void acceptsTheEdges() {
        SamplingParams p = SamplingParams.builder().temperature(0).topP(1).topK(-1).minP(1).presencePenalty(-2)
                .frequencyPenalty(2).logitBias(Map.of(0, -100.0)).n(SamplingParams.MAX_N).maxTokens(1).minTokens(1)
                .logprobs(SamplingParams.MAX_LOGPROBS).stop(List.of("a")).build();
        assertEquals(SamplingParams.MAX_N, p.n());
    }

    @Test
    void copiesCollections() {
        Map<Integer, Double> bias = new HashMap<>(Map.of(1, 2.0));
        SamplingParams p = SamplingParams.builder().logitBias(bias).build();
        bias.put(2, 3.0);
        assertEquals(1, p.logitBias().size());
        assertThrows(UnsupportedOperationException.class, () -> p.logitBias().put(3, 1.0));
    }
}
