package dev.jlight.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.jlight.core.backend.KvCache;
import dev.jlight.core.engine.CompletionDelta;
import dev.jlight.core.engine.EngineCore;
import dev.jlight.core.engine.EngineMetrics;
import dev.jlight.core.engine.EngineOptions;
import dev.jlight.core.engine.EngineRequest;
import dev.jlight.core.engine.OutputSink;
import dev.jlight.core.engine.RequestOutput;
import dev.jlight.core.engine.SamplingParams;
import dev.jlight.core.engine.TextDecoderFactory;
import dev.jlight.core.model.LoadProgress;
import dev.jlight.core.model.Model;
import dev.jlight.core.model.ModelFolder;
import dev.jlight.core.testing.AsyncLaunchModel;
import dev.jlight.core.testing.HostSampledModel;
import dev.jlight.core.testing.RepoPaths;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Overlapped (async) scheduling on the real CPU model (the trained demo model): the same
 * requests give the same tokens, texts and finish reasons as the synchronous engine with async
 * scheduling on, whether the model samples on the host or "on the device" synchronously (the
 * engine then steps synchronously) or launches asynchronously for real (run when awaited, or on
 * its own thread; steps overlap, and steps drained for a host-sampled row take their
 * placeholders from the host). Every block comes back and the invariants hold after each step.
 */
@Timeout(300)
class AsyncSchedulingCpuTest {
    private static final Set<Integer> EOS = Set.of(1, 5);
    private static CpuBackend cpu;
    private static Model model;

    /** Token i reads as one letter, so stop strings can be hit. */
    private static final TextDecoderFactory LETTERS = (prompt, skip) -> id -> String.valueOf((char) ('a' + id % 26));

    @BeforeAll
    static void open() {
        Path demo = RepoPaths.root().resolve("models").resolve("jlight-demo");
        assumeTrue(Files.isRegularFile(demo.resolve("config.json")), "no demo model at " + demo);
        cpu = new CpuBackend(2);
        model = ModelFolder.load(demo, ModelFolder.LoadFormat.AUTO, cpu, LoadProgress.NONE);
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
        if (cpu != null) {
            cpu.close();
        }
    }

    /** What each request got: per choice its tokens, text and finish reason. */
    private static final class Sink implements OutputSink {
        final Map<Integer, List<Integer>> tokens = new LinkedHashMap<>();
        final Map<Integer, StringBuilder> text = new LinkedHashMap<>();
        final Map<Integer, Object> finish = new LinkedHashMap<>();
        Throwable error;

        @Override
        public void accept(RequestOutput output) {
            for (CompletionDelta d : output.choices()) {
                List<Integer> t = tokens.computeIfAbsent(d.index(), k -> new ArrayList<>());
                for (int id : d.tokenIds()) {
                    t.add(id);
                }
                text.computeIfAbsent(d.index(), k -> new StringBuilder()).append(d.text());
                if (d.finishReason() != null) {
                    finish.put(d.index(), d.finishReason() + ":" + d.stopReason());
                }
            }
        }

        @Override
        public void fail(Throwable e) {
            error = e;
        }

        String summary() {
            StringBuilder sb = new StringBuilder();
            for (int c : tokens.keySet()) {
                sb.append(c).append(' ').append(tokens.get(c)).append(" '").append(text.get(c)).append("' ")
                        .append(finish.get(c)).append('\n');
            }
            return sb.toString();
        }
    }

    private record Submit(int atStep, String id, int[] prompt, SamplingParams params) {
    }

    private record Outcome(Map<String, String> results, EngineMetrics metrics) {
    }

    private static Outcome run(UnaryOperator<Model> driver, boolean async, int numBlocks, int budget,
                               List<Submit> submits) {
        EngineOptions options = new EngineOptions(512, budget, 16, true, 7L, null, async);
        Model m = driver.apply(model);
        try (KvCache kv = cpu.allocateKvCache(model.kvCacheSpec(numBlocks, 4))) {
            EngineCore core = new EngineCore(m, kv, options, EOS, LETTERS);
            int free = core.scheduler().kv().pool().numFreeBlocks();
            Map<String, Sink> sinks = new LinkedHashMap<>();
            int last = submits.stream().mapToInt(Submit::atStep).max().orElse(0);
            for (int step = 0; step <= last || core.hasWork(); step++) {
                for (Submit s : submits) {
                    if (s.atStep() == step) {
                        Sink sink = new Sink();
                        sinks.put(s.id(), sink);
                        core.add(new EngineRequest(s.id(), s.prompt(), s.params()), sink);
                    }
                }
                core.step();
                core.checkInvariants();
                assertTrue(step < 10_000, "no end");
            }
            assertEquals(free, core.scheduler().kv().pool().numFreeBlocks(), "blocks leaked");
            Map<String, String> results = new LinkedHashMap<>();
            for (Map.Entry<String, Sink> e : sinks.entrySet()) {
                assertNull(e.getValue().error, e.getKey() + " failed");
                results.put(e.getKey(), e.getValue().summary());
            }
            return new Outcome(results, core.metrics());
        }
    }

    private static int[] prompt(int seed, int len) {
        Random r = new Random(seed);
        int[] p = new int[len];
        for (int i = 0; i < len; i++) {
            p[i] = 6 + r.nextInt(model.vocabSize() - 6);
        }
        return p;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static SamplingParams.Builder seeded(long seed, int maxTokens) {
        return SamplingParams.builder().seed(seed).temperature(0.9).topP(0.95).maxTokens(maxTokens);
    }

    private static Outcome checkAllPaths(int numBlocks, int budget, List<Submit> submits, boolean preempts) {
        Outcome ref = run(m -> m, false, numBlocks, budget, submits);
        System.out.println("AsyncSchedulingCpuTest reference " + ref.metrics() + "\n" + ref.results());
        Map<String, UnaryOperator<Model>> paths = new LinkedHashMap<>();
        paths.put("cpu (host sampling)", m -> m);
        paths.put("host-sampled, synchronous launch", HostSampledModel::new);
        paths.put("async launch, deferred",
                m -> new AsyncLaunchModel(new HostSampledModel(m), AsyncLaunchModel.Mode.DEFERRED));
        paths.put("async launch, own thread",
                m -> new AsyncLaunchModel(new HostSampledModel(m), AsyncLaunchModel.Mode.THREAD));
        for (Map.Entry<String, UnaryOperator<Model>> p : paths.entrySet()) {
            Outcome got = run(p.getValue(), true, numBlocks, budget, submits);
            assertEquals(ref.results(), got.results(), p.getKey());
            boolean overlaps = p.getKey().startsWith("async launch");
            assertEquals(overlaps, got.metrics().asyncSteps() > 0, p.getKey() + ": " + got.metrics());
            if (preempts) {
                assertTrue(got.metrics().preemptions() > 0, p.getKey() + " did not preempt: " + got.metrics());
            }
        }
        return ref;
    }

    @Test
    void mixedRequestsWithPrefixSharingAndChunkedPrefill() {
        int[] shared = prompt(1, 24);
        List<Submit> submits = List.of(
                new Submit(0, "greedy", prompt(2, 9), SamplingParams.greedy(24)),
                new Submit(0, "seeded-n2", concat(shared, prompt(3, 3)), seeded(11, 16).n(2).stop(List.of("g", "u"))
                        .build()),
                new Submit(1, "stops", prompt(4, 5), SamplingParams.builder().temperature(0).maxTokens(30)
                        .stop(List.of("n", "zz")).ignoreEos(true).build()),
                new Submit(3, "shares", concat(shared, prompt(5, 6)), seeded(12, 12).build()),
                new Submit(4, "long", prompt(6, 90), seeded(13, 10).ignoreEos(true).build()),
                new Submit(6, "one", prompt(7, 4), SamplingParams.greedy(1)),
                new Submit(7, "logprobs", prompt(8, 5), seeded(14, 5).logprobs(1).build()));
        Outcome ref = checkAllPaths(256, 32, submits, false);
        // stop strings hit mid-stream (one choice of two), an EOS, max_tokens: the ends to get right
        assertTrue(ref.results().get("stops").contains("STOP:n"), ref.results().get("stops"));
        assertTrue(ref.results().get("seeded-n2").contains("STOP:g"), ref.results().get("seeded-n2"));
        assertTrue(ref.results().get("greedy").contains("STOP:null"), ref.results().get("greedy"));
    }

    @Test
    void preemptionUnderATinyPool() {
        List<Submit> submits = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            SamplingParams p = i % 2 == 0 ? SamplingParams.builder().temperature(0).maxTokens(14 + i).ignoreEos(true)
                    .build() : seeded(30 + i, 12 + i).ignoreEos(true).build();
            submits.add(new Submit(i % 3, "r" + i, prompt(20 + i, 6 + (i * 7) % 19), p));
        }
        checkAllPaths(40, 48, submits, true);
    }
}
