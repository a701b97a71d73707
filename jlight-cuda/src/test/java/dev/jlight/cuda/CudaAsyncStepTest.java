package dev.jlight.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.jlight.core.backend.AttentionMetadata;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.model.DeviceSampling;
import dev.jlight.core.model.ForwardBatch;
import dev.jlight.core.model.LoadProgress;
import dev.jlight.core.model.Model;
import dev.jlight.core.model.ModelFolder;
import dev.jlight.core.model.PendingIds;
import dev.jlight.core.testing.GoldenModel;
import dev.jlight.core.testing.RepoPaths;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Overlapped steps ({@code Model.launchSampled}: step i+1 launched before step i is awaited, its
 * decode tokens taken on the device from step i's picks through {@code ForwardBatch.previousRows})
 * give exactly the greedy ids of the synchronous chain ({@code forwardSampled}, every id known on
 * the host), on the demo model and a golden model, eagerly and through the graph runner, for one
 * sequence and several that join one per step (steps that mix one's prefill with the others'
 * decode, then decode-only steps that the runner graphs). Midway the async chain drains and runs
 * one synchronous step, whose picks the next launched step takes (the contract allows either).
 */
@Tag("gpu")
class CudaAsyncStepTest {
    private static final int BLOCK = 16;
    private static final int DECODE_STEPS = 12;
    static CudaBackend gpu;

    @BeforeAll
    static void open() {
        gpu = GpuHarness.openGpu(4L << 30);
    }

    @AfterAll
    static void close() throws Exception {
        GpuHarness.closeAll(gpu);
    }

    /** The demo model (-Djlight.test.demoWeights=dummy: its config with random weights) and golden llama3. */
    static Path folder(String which) throws IOException {
        return which.equals("demo") ? RepoPaths.root().resolve("models").resolve("jlight-demo")
                : GoldenModel.load(which).folder();
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String m : List.of("demo", "llama3")) {
            for (boolean graphs : new boolean[] {false, true}) {
                for (int seqs : new int[] {1, 5}) {
                    out.add(Arguments.of(m, graphs, seqs));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}, graphs {1}, {2} sequences")
    @MethodSource("cases")
    void launchedChainGivesTheSynchronousIds(String which, boolean graphs, int seqs) throws IOException {
        Path dir = folder(which);
        assumeTrue(Files.isRegularFile(dir.resolve("config.json")), "no model at " + dir);
        ModelFolder.LoadFormat format = which.equals("demo")
                && "dummy".equals(System.getProperty("jlight.test.demoWeights"))
                ? ModelFolder.LoadFormat.DUMMY : ModelFolder.LoadFormat.AUTO;
        try (Model model = ModelFolder.load(dir, format, gpu, LoadProgress.NONE)) {
            assertTrue(model.launchesAsync(), "a Llama on the cuda backend launches asynchronously");
            Chain plan = new Chain(model.vocabSize(), seqs, new Random(seqs * 31L + which.hashCode()));
            int[][] sync = run(model, plan, graphs, false);
            int[][] async = run(model, plan, graphs, true);
            for (int i = 0; i < sync.length; i++) {
                assertArrayEquals(sync[i], async[i], "step " + i + " (" + which + ", graphs " + graphs + ")");
            }
        }
    }

    /** The ids of every step of the plan, synchronously or overlapped (two steps in flight). */
    private static int[][] run(Model model, Chain plan, boolean graphs, boolean overlapped) {
        try (KvCache kv = gpu.allocateKvCache(model.kvCacheSpec(plan.blocksNeeded(), BLOCK))) {
            CudaGraphRunner runner = graphs ? new CudaGraphRunner(model, kv, plan.maxLen) : null;
            try {
                return steps(graphs ? runner : model, kv, plan, overlapped);
            } finally {
                if (runner != null) {
                    CudaGraphRunner.Stats st = runner.stats();
                    System.out.println((overlapped ? "overlapped" : "synchronous") + " chain, graph runner: " + st);
                    runner.close();
                    assertEquals(0, st.captureFailures(), st.toString());
                    assertTrue(st.replays() > 0, "decode-only steps were replayed: " + st);
                }
            }
        }
    }

    private static int[][] steps(Model m, KvCache kv, Chain plan, boolean overlapped) {
        int[][] picked = new int[plan.steps()][];
        ArrayDeque<PendingIds> inFlight = new ArrayDeque<>();
        int awaited = 0;
        for (int i = 0; i < plan.steps(); i++) {
            DeviceSampling greedy = DeviceSampling.greedy(plan.rows(i));
            // midway the overlapped chain drains and runs one synchronous step
            boolean syncStep = !overlapped || i == plan.steps() / 2;
            if (syncStep) {
                while (!inFlight.isEmpty()) {
                    picked[awaited++] = inFlight.removeFirst().await();
                }
                picked[i] = m.forwardSampled(plan.batch(i, picked, false), kv, greedy);
                awaited = i + 1;
            } else {
                inFlight.addLast(m.launchSampled(plan.batch(i, picked, true), kv, greedy));
                if (inFlight.size() == 2) {
                    picked[awaited++] = inFlight.removeFirst().await();
                }
            }
        }
        while (!inFlight.isEmpty()) {
            picked[awaited++] = inFlight.removeFirst().await();
        }
        return picked;
    }

    /**
     * Sequence s has a prompt of 3 + 5s random tokens and joins at step s (its prefill in the same
     * step as the others' decode tokens), then decodes one token per step; its logit row in a step
     * is its index among the sequences in it, so in step i it is row s of step i - 1 too.
     */
    private static final class Chain {
        final int seqs;
        final int[][] prompts;
        final int maxLen;
        final int[][] tables;

        Chain(int vocab, int seqs, Random r) {
            this.seqs = seqs;
            this.prompts = new int[seqs][];
            for (int s = 0; s < seqs; s++) {
                prompts[s] = r.ints(3 + 5 * s, 0, vocab).toArray();
            }
            this.maxLen = prompts[seqs - 1].length + steps() + 1;
            int blocks = (maxLen + BLOCK - 1) / BLOCK;
            this.tables = new int[seqs][blocks];
            for (int s = 0; s < seqs; s++) {
                for (int b = 0; b < blocks; b++) {
                    tables[s][b] = s * blocks + b;
                }
            }
        }

        int steps() {
            return seqs + DECODE_STEPS;
        }

        int blocksNeeded() {
            return seqs * tables[0].length;
        }

        /** Sequences in step i: those that joined at or before it. */
        int rows(int i) {
            return Math.min(i + 1, seqs);
        }

        /**
         * Step i's batch. Decode tokens are step i-1's picks: known ids ({@code picked[i-1]}), or
         * with {@code fromDevice} a placeholder and the row of step i-1 that holds them.
         */
        ForwardBatch batch(int i, int[][] picked, boolean fromDevice) {
            int n = rows(i);
            List<Integer> ids = new ArrayList<>();
            List<Integer> positions = new ArrayList<>();
            List<Integer> slots = new ArrayList<>();
            List<Integer> previous = new ArrayList<>();
            int[] queryStart = new int[n + 1];
            int[] seqLens = new int[n];
            int[] logitRows = new int[n];
            for (int s = 0; s < n; s++) {
                int start;
                int[] tokens;
                int[] prevRows;
                if (s == i) { // joins now: its prompt
                    start = 0;
                    tokens = prompts[s];
                    prevRows = new int[tokens.length];
                    Arrays.fill(prevRows, -1);
                } else {      // decodes step i-1's pick for it (row s there)
                    start = prompts[s].length + (i - s - 1);
                    tokens = new int[] {fromDevice ? 0 : picked[i - 1][s]};
                    prevRows = new int[] {fromDevice ? s : -1};
                }
                queryStart[s] = ids.size();
                for (int k = 0; k < tokens.length; k++) {
                    int p = start + k;
                    ids.add(tokens[k]);
                    positions.add(p);
                    slots.add(tables[s][p / BLOCK] * BLOCK + p % BLOCK);
                    previous.add(prevRows[k]);
                }
                seqLens[s] = start + tokens.length;
                logitRows[s] = ids.size() - 1;
            }
            queryStart[n] = ids.size();
            int[][] tb = Arrays.copyOf(tables, n);
            AttentionMetadata meta = new AttentionMetadata(queryStart, seqLens, tb, ints(slots), BLOCK);
            return new ForwardBatch(ints(ids), ints(positions), meta, logitRows, fromDevice ? ints(previous) : null);
        }

        private static int[] ints(List<Integer> v) {
            return v.stream().mapToInt(Integer::intValue).toArray();
        }
    }
}
