package dev.jlight.core.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jlight.core.model.Model;
import dev.jlight.core.testing.AsyncLaunchModel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Overlapped (async) scheduling gives what synchronous steps give: the same tokens, texts and
 * finish reasons for the same requests, on a model that launches asynchronously for real
 * ({@link AsyncLaunchModel}, run when awaited or on its own thread) and on a synchronous one
 * (placeholders filled on the host), with no block leaked and the invariants checked after
 * every step. The reference is the synchronous engine with device sampling (which equals host
 * sampling: {@link DeviceSamplingEngineTest}).
 */
@Timeout(60)
class AsyncSchedulingEngineTest {

    /**
     * How the engine runs the fake model: async scheduling off, or on with a model that computes
     * on launch (which the engine then steps synchronously: nothing to overlap), or on with a
     * model that launches asynchronously.
     */
    enum Path {
        SYNC(false, false, m -> m),
        ASYNC_ON_SYNC_MODEL(true, false, m -> m),
        ASYNC_DEFERRED(true, true, m -> new AsyncLaunchModel(m, AsyncLaunchModel.Mode.DEFERRED)),
        ASYNC_THREAD(true, true, m -> new AsyncLaunchModel(m, AsyncLaunchModel.Mode.THREAD));

        final boolean async;
        final boolean overlaps;
        final Function<FakeModel, Model> driver;

        Path(boolean async, boolean overlaps, Function<FakeModel, Model> driver) {
            this.async = async;
            this.overlaps = overlaps;
            this.driver = driver;
        }
    }

    /** A request that arrives before engine step {@code atStep}. */
    record Submit(int atStep, String id, int[] prompt, SamplingParams params) {
    }

    /** An abort of a request before engine step {@code atStep}. */
    record Abort(int atStep, String id) {
    }

    /** What each request got, per choice. */
    record Outcome(Map<String, List<List<Integer>>> tokens, Map<String, List<String>> texts,
                   Map<String, List<FinishReason>> reasons, Map<String, Throwable> errors, EngineMetrics metrics,
                   int abortsInFlight) {
    }

    private static final class Run {
        final Harness h;
        final Map<String, CollectingSink> sinks = new LinkedHashMap<>();
        final Map<String, Integer> choices = new LinkedHashMap<>();
        int abortsInFlight;

        Run(Path path, int numBlocks, EngineOptions options) {
            this(path.driver, numBlocks, options.withAsyncScheduling(path.async));
        }

        /** Runs {@code driver} with {@code options} as they are. */
        Run(Function<FakeModel, Model> driver, int numBlocks, EngineOptions options) {
            h = new Harness(numBlocks, 4, options, FakeDecoder.letters(), m -> {
                m.deviceSampling = true;
                return driver.apply(m);
            });
        }

        Outcome go(List<Submit> submits, List<Abort> aborts) {
            int freeAtStart = h.core.scheduler().kv().pool().numFreeBlocks();
            int last = 0;
            for (Submit s : submits) {
                last = Math.max(last, s.atStep());
            }
            for (Abort a : aborts) {
                last = Math.max(last, a.atStep());
            }
            for (int step = 0; step <= last || h.core.hasWork(); step++) {
                for (Submit s : submits) {
                    if (s.atStep() == step) {
                        sinks.put(s.id(), h.submit(s.id(), s.prompt(), s.params()));
                        choices.put(s.id(), s.params().n());
                    }
                }
                for (Abort a : aborts) {
                    if (a.atStep() == step) {
                        abortsInFlight += h.core.stepsInFlight() > 0 ? 1 : 0;
                        h.core.abort(a.id());
                        h.core.checkInvariants();
                    }
                }
                h.core.step();
                h.core.checkInvariants();
                assertTrue(h.core.stepsInFlight() <= 2, "more than two steps in flight");
                assertTrue(step < 100_000, "no end");
            }
            assertEquals(0, h.core.stepsInFlight());
            assertEquals(freeAtStart, h.core.scheduler().kv().pool().numFreeBlocks(), "blocks leaked");
            assertEquals(0, h.core.scheduler().kv().numSequences());
            return outcome();
        }

        private Outcome outcome() {
            Map<String, List<List<Integer>>> tokens = new LinkedHashMap<>();
            Map<String, List<String>> texts = new LinkedHashMap<>();
            Map<String, List<FinishReason>> reasons = new LinkedHashMap<>();
            Map<String, Throwable> errors = new LinkedHashMap<>();
            for (Map.Entry<String, CollectingSink> e : sinks.entrySet()) {
                CollectingSink s = e.getValue();
                if (s.error != null) {
                    errors.put(e.getKey(), s.error);
                    continue;
                }
                assertTrue(s.finished(), e.getKey() + " never finished");
                List<List<Integer>> t = new ArrayList<>();
                List<String> x = new ArrayList<>();
                List<FinishReason> r = new ArrayList<>();
                for (int c = 0; c < choices.get(e.getKey()); c++) {
                    t.add(s.tokens(c));
                    x.add(s.text(c));
                    r.add(s.finishReason(c));
                }
                tokens.put(e.getKey(), t);
                texts.put(e.getKey(), x);
                reasons.put(e.getKey(), r);
            }
            return new Outcome(tokens, texts, reasons, errors, h.core.metrics(), abortsInFlight);
        }
    }

    private static Outcome run(Path path, int numBlocks, EngineOptions options, List<Submit> submits,
                               List<Abort> aborts) {
        return new Run(path, numBlocks, options).go(submits, aborts);
    }

    private static SamplingParams.Builder seeded(long seed, double temperature, int maxTokens) {
        return SamplingParams.builder().seed(seed).temperature(temperature).maxTokens(maxTokens);
    }

    /** Runs every path; each must equal the synchronous one, and those that can must overlap steps. */
    private static Outcome checkAllPaths(int numBlocks, EngineOptions options, List<Submit> submits) {
        Outcome ref = run(Path.SYNC, numBlocks, options, submits, List.of());
        assertEquals(0, ref.metrics().asyncSteps());
        assertTrue(ref.errors().isEmpty(), "reference failed: " + ref.errors());
        for (Path p : Path.values()) {
            if (p == Path.SYNC) {
                continue;
            }
            Outcome got = run(p, numBlocks, options, submits, List.of());
            assertTrue(got.errors().isEmpty(), p + " failed: " + got.errors());
            assertEquals(ref.tokens(), got.tokens(), p + " tokens");
            assertEquals(ref.texts(), got.texts(), p + " texts");
            assertEquals(ref.reasons(), got.reasons(), p + " finish reasons");
            assertEquals(ref.metrics().generatedTokens(), got.metrics().generatedTokens(), p + " generated tokens");
            assertEquals(p.overlaps, got.metrics().asyncSteps() > 0, p + " async steps: " + got.metrics());
        }
        return ref;
    }

    private static long count(Outcome o, FinishReason reason) {
        return o.reasons().values().stream().flatMap(List::stream).filter(r -> r == reason).count();
    }

    @Test
    void mixedRequestsGiveTheSynchronousResults() {
        List<Submit> submits = List.of(
                new Submit(0, "greedy-eos", Harness.prompt(1, 7), SamplingParams.greedy(20)),
                new Submit(0, "seeded-stop", Harness.prompt(2, 5), seeded(11, 0.9, 15).topK(20).stop(List.of("e")).build()),
                new Submit(0, "n3-stops", Harness.prompt(3, 9),
                        seeded(12, 1.0, 12).n(3).stop(List.of("c", "x")).ignoreEos(true).build()),
                new Submit(1, "greedy-stops", Harness.prompt(4, 3),
                        SamplingParams.builder().temperature(0).maxTokens(25).stop(List.of("ab", "q")).ignoreEos(true)
                                .build()),
                new Submit(1, "unseeded", Harness.prompt(5, 6),
                        SamplingParams.builder().temperature(0.7).maxTokens(10).build()),
                new Submit(2, "n2-seeded", Harness.prompt(6, 11), seeded(13, 0.8, 8).n(2).topP(0.9).build()),
                new Submit(3, "min-tokens", Harness.prompt(7, 4), seeded(14, 1.0, 9).minTokens(5).build()),
                new Submit(4, "logprobs", Harness.prompt(8, 6), seeded(15, 0.9, 6).logprobs(2).build()),
                new Submit(6, "one-token", Harness.prompt(9, 5), SamplingParams.greedy(1)),
                new Submit(8, "penalty", Harness.prompt(10, 8), seeded(16, 0.9, 5).repetitionPenalty(1.2).build()),
                new Submit(12, "late", Harness.prompt(11, 13), seeded(17, 0.6, 14).stop(List.of("d")).build()));
        Outcome ref = checkAllPaths(128, Harness.options(128, 64, 16), submits);
        assertTrue(count(ref, FinishReason.STOP) >= 3, "too few stops to test stopping mid-flight: " + ref.reasons());
        assertTrue(count(ref, FinishReason.LENGTH) >= 3, "too few max_tokens ends: " + ref.reasons());
    }

    @Test
    void asyncPathsFallBackToSynchronousStepsForHostSampledRows() {
        List<Submit> submits = List.of(
                new Submit(0, "a", Harness.prompt(1, 7), seeded(1, 0.9, 30).ignoreEos(true).build()),
                new Submit(5, "logprobs", Harness.prompt(2, 6), seeded(2, 0.9, 6).logprobs(1).ignoreEos(true).build()));
        checkAllPaths(64, Harness.options(128, 64, 16), submits);
        Outcome got = run(Path.ASYNC_DEFERRED, 64, Harness.options(128, 64, 16), submits, List.of());
        EngineMetrics m = got.metrics();
        // the logprobs request's 6 decodes (and its prefill) run on the host, the rest overlapped
        assertTrue(m.steps() - m.deviceSampledSteps() >= 6, m.toString());
        assertEquals(m.deviceSampledSteps(), m.asyncSteps(), m.toString());
    }

    @Test
    void prefixCachingAndChunkedPrefillWhileOthersDecode() {
        int[] base = Harness.prompt(20, 40);
        List<Submit> submits = List.of(
                new Submit(0, "first", concat(base, 1, 2, 3), seeded(21, 0.8, 16).ignoreEos(true).build()),
                new Submit(2, "siblings", concat(base, 9), seeded(22, 1.0, 10).n(3).build()),
                new Submit(3, "shares", concat(base, 4, 5), SamplingParams.greedy(12)),
                new Submit(5, "long", Harness.prompt(23, 70), seeded(24, 0.9, 10).stop(List.of("f")).build()),
                new Submit(9, "shares-later", concat(base, 4, 5, 6), SamplingParams.greedy(8)));
        EngineOptions options = Harness.options(256, 16, 16);
        checkAllPaths(200, options, submits);
        for (Path p : Path.values()) {
            Outcome o = run(p, 200, options, submits, List.of());
            assertTrue(o.metrics().prefixCacheHits() > 0, p + " found no cached prefix: " + o.metrics());
        }
    }

    @Test
    void preemptionUnderATinyPool() {
        List<Submit> submits = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            SamplingParams p = i % 3 == 0 ? seeded(40 + i, 0.9, 5 + i * 2).build() : SamplingParams.greedy(5 + i * 3);
            submits.add(new Submit(i % 4, "r" + i, Harness.prompt(i, 1 + (i * 11) % 45), p));
        }
        EngineOptions options = Harness.options(128, 24, 256);
        checkAllPaths(40, options, submits);
        for (Path p : Path.values()) {
            Outcome o = run(p, 40, options, submits, List.of());
            assertTrue(o.metrics().preemptions() > 0, p + ": the pool is too small for all of them");
        }
    }

    @ParameterizedTest
    @EnumSource(Path.class)
    void abortWhileInFlight(Path path) {
        List<Submit> submits = List.of(
                new Submit(0, "keep", Harness.prompt(1, 6), seeded(1, 0.9, 20).ignoreEos(true).build()),
                new Submit(0, "abort", Harness.prompt(2, 6), seeded(2, 0.9, 20).ignoreEos(true).build()),
                new Submit(0, "abort-n2", Harness.prompt(3, 9), seeded(3, 0.9, 20).n(2).ignoreEos(true).build()),
                new Submit(2, "keep-greedy", Harness.prompt(4, 5), SamplingParams.greedy(15)));
        EngineOptions options = Harness.options(128, 64, 16);
        Outcome full = run(Path.SYNC, 64, options, submits, List.of());
        Outcome got = run(path, 64, options, submits, List.of(new Abort(6, "abort"), new Abort(9, "abort-n2")));
        assertEquals(full.tokens().get("keep"), got.tokens().get("keep"));
        assertEquals(full.tokens().get("keep-greedy"), got.tokens().get("keep-greedy"));
        for (String id : List.of("abort", "abort-n2")) {
            for (int c = 0; c < got.tokens().get(id).size(); c++) {
                List<Integer> part = got.tokens().get(id).get(c);
                List<Integer> whole = full.tokens().get(id).get(c);
                assertTrue(part.size() < whole.size(), id + " ran to the end despite the abort");
                assertEquals(whole.subList(0, part.size()), part, id + " choice " + c);
                assertEquals(FinishReason.ABORT, got.reasons().get(id).get(c));
            }
        }
        assertEquals(path.overlaps ? 2 : 0, got.abortsInFlight(), "aborts that met a launched step");
    }

    @ParameterizedTest
    @EnumSource(Path.class)
    void aModelFailureFailsItsStepsRequestsOnly(Path path) {
        int[] prompt = Harness.prompt(30, 6);
        List<Integer> ref = Harness.referenceGreedy(prompt, 12, true);
        Run run = new Run(path, 64, Harness.options(128, 64, 16));
        run.h.model.failOnToken = ref.get(4);          // fed back in a decode step: overlapped on async paths
        List<Submit> submits = new ArrayList<>();
        submits.add(new Submit(0, "fails", prompt, SamplingParams.builder().temperature(0).maxTokens(12)
                .ignoreEos(true).build()));
        int[] after = Harness.prompt(31, 5);
        List<Integer> afterRef = Harness.referenceGreedy(after, 6, false);
        if (!afterRef.contains(ref.get(4)) && !contains(after, ref.get(4))) {
            submits.add(new Submit(12, "after", after, SamplingParams.greedy(6)));
        }
        assertEquals(2, submits.size(), "pick another prompt: the later request meets the failing token");
        Outcome o = run.go(submits, List.of());
        assertNotNull(o.errors().get("fails"), "the failing step's request did not fail");
        assertNull(o.errors().get("after"), "a later request failed");
        assertEquals(List.of(afterRef), o.tokens().get("after"));
        assertEquals(1, o.metrics().requestsFailed());
    }

    /**
     * A step that fails on the backend is followed by one launched on its (stale) picks, which
     * succeeds: its rows of the failed request are discarded and nothing of them is cached, even
     * where its placeholder completes a block (prompt 6, block 4: the 6th forward call fails, the
     * next one computes position 11).
     */
    @ParameterizedTest
    @EnumSource(Path.class)
    void theStepAfterAFailedOneIsDiscardedForTheFailedRequests(Path path) {
        Run run = new Run(path, 64, Harness.options(128, 64, 16));
        run.h.model.failOnCall = 5;
        int[] after = Harness.prompt(31, 5);
        Outcome o = run.go(List.of(new Submit(0, "fails", Harness.prompt(30, 6), SamplingParams.builder()
                .temperature(0).maxTokens(12).ignoreEos(true).build()),
                new Submit(10, "after", after, SamplingParams.greedy(6))), List.of());
        assertNotNull(o.errors().get("fails"), "the failing step's request did not fail");
        assertEquals(List.of(Harness.referenceGreedy(after, 6, false)), o.tokens().get("after"));
        assertEquals(1, o.metrics().requestsFailed());
    }

    /**
     * A request that samples on the host arrives while a step that will fail is in flight: the
     * next step is drained and run synchronously, taking the failed step's placeholder for the
     * failed request (discarded) and running the new one to its reference tokens. (Overlapped
     * paths: the 6th forward call is step 5's, awaited in the drain of step 6.)
     */
    @ParameterizedTest
    @EnumSource(Path.class)
    void aDrainedStepAfterAFailedOneRunsTheOtherRequests(Path path) {
        Run run = new Run(path, 64, Harness.options(128, 64, 16));
        run.h.model.failOnCall = 5;
        int[] hostSampled = Harness.prompt(32, 7);
        Outcome o = run.go(List.of(new Submit(0, "fails", Harness.prompt(30, 6), SamplingParams.builder()
                .temperature(0).maxTokens(12).ignoreEos(true).build()),
                new Submit(6, "logprobs", hostSampled, SamplingParams.builder().temperature(0).maxTokens(5)
                        .ignoreEos(true).logprobs(1).build())), List.of());
        assertNotNull(o.errors().get("fails"), "the failing step's request did not fail");
        assertEquals(List.of(Harness.referenceGreedy(hostSampled, 5, true)), o.tokens().get("logprobs"));
        assertEquals(1, o.metrics().requestsFailed());
    }

    @Test
    void switchedOffItRunsEveryStepSynchronously() {
        List<Submit> submits = List.of(new Submit(0, "a", Harness.prompt(1, 7), SamplingParams.greedy(10)));
        String before = System.getProperty("jlight.asyncScheduling");
        try {
            System.setProperty("jlight.asyncScheduling", "false");
            EngineOptions off = Harness.options(128, 64, 16);
            assertFalse(off.asyncScheduling());
            Run r = new Run(Path.ASYNC_DEFERRED.driver, 64, off);
            Outcome o = r.go(submits, List.of());
            assertEquals(0, o.metrics().asyncSteps());
            assertTrue(o.metrics().deviceSampledSteps() > 0);
        } finally {
            if (before == null) {
                System.clearProperty("jlight.asyncScheduling");
            } else {
                System.setProperty("jlight.asyncScheduling", before);
            }
        }
        assertTrue(Harness.options(128, 64, 16).asyncScheduling(), "on by default");
    }

    private static int[] concat(int[] a, int... b) {
        int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }
}
