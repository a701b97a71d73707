package dev.jlight.core.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class EngineCoreTest {

    private static List<Integer> runAlone(int[] prompt, SamplingParams p, int choice) {
        Harness h = new Harness(256, 4, Harness.options(512, 2048, 256));
        CollectingSink s = h.submit("alone", prompt, p);
        h.runAll();
        return s.tokens(choice);
    }

    @Test
    void greedyMatchesTheReference() {
        Harness h = new Harness(64, 4, Harness.options(256, 2048, 256));
        int[] prompt = Harness.prompt(1, 13);
        CollectingSink s = h.submit("a", prompt, SamplingParams.builder().temperature(0).maxTokens(20).ignoreEos(true).build());
        h.runAll();
        assertEquals(Harness.referenceGreedy(prompt, 20, true), s.tokens(0));
        assertEquals(FinishReason.LENGTH, s.finishReason(0));
        RequestOutput last = s.outputs.getLast();
        assertTrue(last.finished());
        assertEquals(13, last.promptTokens());
        assertEquals(20, last.generatedTokens());
        assertEquals(20, s.outputs.size(), "one output per step");
        for (int i = 0; i < s.outputs.size() - 1; i++) {
            assertFalse(s.outputs.get(i).finished());
            assertEquals(i + 1, s.outputs.get(i).generatedTokens());
        }
        RequestTiming t = last.timing();
        assertTrue(t.arrivalNanos() <= t.firstTokenNanos() && t.firstTokenNanos() <= t.lastTokenNanos());
        assertTrue(t.ttftNanos() >= 0);
        assertEquals(0.0, h.core.metrics().kvUsage());
        assertEquals(1, h.core.metrics().requestsFinished());
    }

    @Test
    void sixteenConcurrentGreedyRequestsEqualEachAlone() {
        // A small budget forces chunked prefill next to decodes; 40 blocks force some preemption.
        Harness h = new Harness(40, 4, Harness.options(128, 24, 256));
        List<CollectingSink> sinks = new ArrayList<>();
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            int[] p = Harness.prompt(i, 1 + (i * 11) % 45);
            prompts.add(p);
            sinks.add(h.submit("r" + i, p, SamplingParams.greedy(5 + i * 3)));
        }
        h.runAll();
        for (int i = 0; i < 16; i++) {
            assertEquals(Harness.referenceGreedy(prompts.get(i), 5 + i * 3, false), sinks.get(i).tokens(0), "request " + i);
        }
        assertTrue(h.model.maxBatchTokens <= 24);
        assertTrue(h.core.metrics().preemptions() > 0, "the pool is too small for all of them");
        assertEquals(0.0, h.core.metrics().kvUsage());
    }

    @Test
    void seededSamplingIsTheSameInABatchAsAlone() {
        Harness h = new Harness(200, 4, Harness.options(128, 32, 256));
        List<CollectingSink> sinks = new ArrayList<>();
        List<SamplingParams> params = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            SamplingParams p = SamplingParams.builder().seed(100L + i).temperature(0.9).topP(0.9).topK(20)
                    .maxTokens(12).ignoreEos(true).build();
            params.add(p);
            sinks.add(h.submit("s" + i, Harness.prompt(i, 3 + i * 5), p));
        }
        h.runAll();
        for (int i = 0; i < 8; i++) {
            assertEquals(runAlone(Harness.prompt(i, 3 + i * 5), params.get(i), 0), sinks.get(i).tokens(0));
        }
    }

    @Test
    void prefixCacheComputesOnlyTheNewTokens() {
        for (boolean caching : new boolean[] {true, false}) {
            Harness h = new Harness(64, 4, Harness.options(256, 2048, 256).withPrefixCaching(caching));
            int[] first = Harness.prompt(3, 40);
            h.submit("a", first, SamplingParams.greedy(4));
            h.runAll();
            int[] second = new int[37];
            System.arraycopy(first, 0, second, 0, 32);
            for (int i = 32; i < 37; i++) {
                second[i] = 40 + i % 5;
            }
            long before = h.model.tokensForwarded;
            CollectingSink s = h.submit("b", second, SamplingParams.builder().temperature(0).maxTokens(3)
                    .ignoreEos(true).build());
            h.runAll();
            long forwarded = h.model.tokensForwarded - before;
            // 32 shared tokens are 8 full blocks: only 5 prompt tokens + 2 decodes run.
            assertEquals(caching ? 5 + 2 : 37 + 2, forwarded);
            assertEquals(Harness.referenceGreedy(second, 3, true), s.tokens(0));
            EngineMetrics m = h.core.metrics();
            assertEquals(caching ? 32 : 0, m.prefixCacheHits());
            assertEquals(caching ? 77 : 0, m.prefixCacheQueried());
        }
    }

    @Test
    void tinyPoolPreemptsAndStillGivesTheSameOutputs() {
        // Every request fits alone (prompt + max_tokens - 1 <= 24 tokens = 6 blocks); 8 of them do not fit together.
        Harness h = new Harness(6, 4, Harness.options(64, 64, 256));
        List<CollectingSink> sinks = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            sinks.add(h.submit("p" + i, Harness.prompt(i, 5 + i), SamplingParams.builder().temperature(0)
                    .maxTokens(20 - i).ignoreEos(true).build()));
        }
        h.runAll();
        for (int i = 0; i < 8; i++) {
            assertEquals(Harness.referenceGreedy(Harness.prompt(i, 5 + i), 20 - i, true), sinks.get(i).tokens(0));
        }
        assertTrue(h.core.metrics().preemptions() > 0);
        assertEquals(0.0, h.core.metrics().kvUsage());
    }

    @Test
    void parallelSamplingForksOffTheSharedPrompt() {
        Harness h = new Harness(128, 4, Harness.options(256, 2048, 256));
        int[] prompt = Harness.prompt(9, 20);
        SamplingParams p = SamplingParams.builder().n(4).seed(77L).temperature(1.0).maxTokens(6).ignoreEos(true).build();
        CollectingSink s = h.submit("n4", prompt, p);
        h.runAll();
        // The first choice computes the 20 prompt tokens; each sibling finds 4 full blocks (16 tokens) cached.
        assertEquals(20 + 3 * 4 + 4 * 5, h.model.tokensForwarded);
        assertEquals(4 * 6, s.outputs.getLast().generatedTokens());
        List<List<Integer>> outs = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            assertEquals(6, s.tokens(i).size());
            assertEquals(FinishReason.LENGTH, s.finishReason(i));
            // Choice i samples with seed + i, as vLLM does.
            SamplingParams alone = p.toBuilder().n(1).seed(77L + i).build();
            assertEquals(runAlone(prompt, alone, 0), s.tokens(i), "choice " + i);
            outs.add(s.tokens(i));
        }
        assertTrue(outs.stream().distinct().count() > 1);
    }

    @Test
    void parallelSamplingWithoutPrefixCachingComputesEachPrompt() {
        Harness h = new Harness(128, 4, Harness.options(256, 2048, 256).withPrefixCaching(false));
        CollectingSink s = h.submit("n3", Harness.prompt(2, 10), SamplingParams.builder().n(3).temperature(0).maxTokens(2)
                .ignoreEos(true).build());
        h.runAll();
        assertEquals(3 * 10 + 3, h.model.tokensForwarded);
        assertEquals(s.tokens(0), s.tokens(2));
    }

    @Test
    void eosStopsWithItsIdButNotItsText() {
        int[] prompt = null;
        List<Integer> ref = null;
        for (int seed = 0; ; seed++) {
            prompt = Harness.prompt(seed, 6);
            ref = Harness.referenceGreedy(prompt, 60, false);
            if (ref.getLast() == Harness.EOS && ref.size() > 2) {
                break;
            }
        }
        Harness h = new Harness(64, 4, Harness.options(256, 2048, 256));
        CollectingSink s = h.submit("e", prompt, SamplingParams.greedy(60));
        h.runAll();
        assertEquals(ref, s.tokens(0));
        assertEquals(FinishReason.STOP, s.finishReason(0));
        assertNull(s.last(0).stopReason());
        assertEquals(ref.size() - 1, s.text(0).length(), "one letter per token, none for EOS");

        // min_tokens past the EOS position: EOS is suppressed and the output runs on.
        Harness h2 = new Harness(64, 4, Harness.options(256, 2048, 256));
        CollectingSink s2 = h2.submit("e2", prompt, SamplingParams.builder().temperature(0).maxTokens(60)
                .minTokens(ref.size() + 2).build());
        h2.runAll();
        assertTrue(s2.tokens(0).size() >= ref.size() + 2);
        assertFalse(s2.tokens(0).subList(0, ref.size() + 1).contains(Harness.EOS));
    }

    @Test
    void stopTokenIdsEndTheOutputWithTheirIdAsReason() {
        int[] prompt = Harness.prompt(4, 8);
        List<Integer> ref = Harness.referenceGreedy(prompt, 30, true);
        int stopAt = 5;
        int stopToken = ref.get(stopAt);
        int first = ref.indexOf(stopToken);
        Harness h = new Harness(64, 4, Harness.options(256, 2048, 256));
        CollectingSink s = h.submit("st", prompt, SamplingParams.builder().temperature(0).maxTokens(30).ignoreEos(true)
                .stopTokenIds(java.util.Set.of(stopToken)).build());
        h.runAll();
        assertEquals(ref.subList(0, first + 1), s.tokens(0));
        assertEquals(FinishReason.STOP, s.finishReason(0));
        assertEquals(stopToken, s.last(0).stopReason());
    }

    @Test
    void stopStringSplitAcrossTokensNeverLeaks() {
        int[] prompt = Harness.prompt(5, 8);
        List<Integer> ref = Harness.referenceGreedy(prompt, 40, true);
        StringBuilder full = new StringBuilder();
        for (int t : ref) {
            full.append((char) ('a' + t % 26));
        }
        String stop = full.substring(6, 9);             // three tokens' letters
        int at = full.indexOf(stop);
        for (boolean include : new boolean[] {false, true}) {
            Harness h = new Harness(64, 4, Harness.options(256, 2048, 256));
            CollectingSink s = h.submit("ss", prompt, SamplingParams.builder().temperature(0).maxTokens(40)
                    .ignoreEos(true).stop(stop, "zzzzzzzz").includeStopStrInOutput(include).build());
            h.runAll();
            String expected = full.substring(0, include ? at + 3 : at);
            assertEquals(expected, s.text(0));
            assertEquals(at + 3, s.tokens(0).size(), "the token completing the stop string is the last one");
            assertEquals(FinishReason.STOP, s.finishReason(0));
            assertEquals(stop, s.last(0).stopReason());
            // While streaming, no delta ran ahead of the final text.
            StringBuilder sofar = new StringBuilder();
            for (RequestOutput o : s.outputs) {
                sofar.append(o.choices().getFirst().text());
                assertTrue(expected.startsWith(sofar.toString()));
            }
        }
    }

    @Test
    void heldBackTextIsReleasedWhenTheOutputEndsOtherwise() {
        // Every token is "a"; the stop string "ab" never completes, the held "a" comes out at the end.
        Harness h = new Harness(64, 4, Harness.options(256, 2048, 256), FakeDecoder.of(t -> "a"));
        CollectingSink s = h.submit("h", Harness.prompt(1, 4), SamplingParams.builder().temperature(0).maxTokens(5)
                .ignoreEos(true).stop("ab").build());
        h.runAll();
        assertEquals("aaaaa", s.text(0));
        assertEquals(FinishReason.LENGTH, s.finishReason(0));
    }

    @Test
    void logprobsFlowThroughTheEngine() {
        Harness h = new Harness(64, 4, Harness.options(256, 2048, 256));
        int[] prompt = Harness.prompt(6, 5);
        CollectingSink s = h.submit("lp", prompt, SamplingParams.builder().temperature(0).maxTokens(3).ignoreEos(true)
                .logprobs(2).build());
        h.runAll();
        List<Integer> ref = Harness.referenceGreedy(prompt, 3, true);
        int[] toks = new int[8];
        System.arraycopy(prompt, 0, toks, 0, 5);
        int k = 0;
        for (RequestOutput o : s.outputs) {
            CompletionDelta d = o.choices().getFirst();
            assertEquals(d.tokenIds().length, d.logprobs().size());
            for (TokenLogprobs lp : d.logprobs()) {
                float[] l = FakeModel.logitsFor(toks, 5 + k, Harness.VOCAB);
                double max = Double.NEGATIVE_INFINITY;
                for (float v : l) {
                    max = Math.max(max, v);
                }
                double sum = 0;
                for (float v : l) {
                    sum += Math.exp(v - max);
                }
                assertEquals(ref.get(k), lp.tokenId());
                assertEquals(l[ref.get(k)] - max - Math.log(sum), lp.logprob(), 1e-4);
                assertEquals(1, lp.rank(), "greedy picks the most likely token");
                assertEquals(2, lp.top().size());
                assertEquals(lp.tokenId(), lp.top().getFirst().tokenId());
                toks[5 + k] = ref.get(k);
                k++;
            }
        }
        assertEquals(3, k);
    }

    @Test
    void abortFreesBlocksAndSendsAFinalOutput() {
        Harness h = new Harness(64, 4, Harness.options(256, 2048, 256));
        CollectingSink a = h.submit("a", Harness.prompt(1, 20), SamplingParams.builder().maxTokens(50).ignoreEos(true).build());
        CollectingSink b = h.submit("b", Harness.prompt(2, 20), SamplingParams.builder().n(3).maxTokens(50).ignoreEos(true)
                .build());
        h.core.step();
        h.core.step();
        assertTrue(h.core.metrics().kvUsage() > 0);
        assertTrue(h.core.abort("a"));
        assertTrue(h.core.abort("b"));
        h.core.checkInvariants();
        assertFalse(h.core.abort("a"));
        assertFalse(h.core.abort("nope"));
        assertTrue(a.finished());
        assertEquals(FinishReason.ABORT, a.finishReason(0));
        for (int i = 0; i < 3; i++) {
            assertEquals(FinishReason.ABORT, b.finishReason(i));
        }
        assertFalse(h.core.hasWork());
        EngineMetrics m = h.core.metrics();
        assertEquals(0.0, m.kvUsage());
        assertEquals(2, m.requestsAborted());
        assertEquals(0, m.running() + m.waiting());
    }

    @Test
    void aFailingForwardFailsItsRequestsAndTheEngineGoesOn() {
        Harness h = new Harness(64, 4, Harness.options(256, 2048, 256));
        h.model.failOnToken = 48;
        int[] bad = {1, 2, 48, 3};
        CollectingSink a = h.submit("bad", bad, SamplingParams.greedy(5));
        h.core.step();
        assertNotNull(a.error);
        h.core.checkInvariants();
        assertEquals(0.0, h.core.metrics().kvUsage());
        assertEquals(1, h.core.metrics().requestsFailed());
        CollectingSink b = h.submit("bad", Harness.prompt(1, 5), SamplingParams.greedy(3));
        h.runAll();
        assertTrue(b.finished());
    }

    @Test
    void aThrowingTextDecoderFailsOnlyItsRequest() {
        int[] prompt = Harness.prompt(4, 8);
        List<Integer> ref = Harness.referenceGreedy(prompt, 10, true);
        int poison = ref.get(3);
        // Request "bad" decodes with a decoder that throws on the poison token; "good" never sees it.
        Harness h = new Harness(64, 4, Harness.options(256, 2048, 256), (p, skip) -> java.util.Arrays.equals(p, prompt)
                ? new FakeDecoder(t -> {
                    if (t == poison) {
                        throw new IllegalStateException("decoder bug");
                    }
                    return "x";
                })
                : new FakeDecoder(t -> "y"));
        CollectingSink bad = h.submit("bad", prompt, SamplingParams.builder().temperature(0).maxTokens(10).ignoreEos(true)
                .build());
        CollectingSink good = h.submit("good", Harness.prompt(5, 8), SamplingParams.builder().temperature(0).maxTokens(10)
                .ignoreEos(true).build());
        h.runAll();
        assertNotNull(bad.error);
        assertTrue(good.finished());
        assertEquals(10, good.tokens(0).size());
        assertEquals(0.0, h.core.metrics().kvUsage());
        assertEquals(1, h.core.metrics().requestsFailed());
    }

    @Test
    void maxTokensDefaultsToTheRestOfTheModelLength() {
        Harness h = new Harness(64, 4, Harness.options(30, 2048, 256));
        CollectingSink s = h.submit("d", Harness.prompt(1, 10), SamplingParams.builder().temperature(0).ignoreEos(true)
                .build());
        h.runAll();
        assertEquals(20, s.tokens(0).size());
        assertEquals(FinishReason.LENGTH, s.finishReason(0));
    }
}
