package dev.jlight.cuda.bench;

import dev.jlight.core.backend.AttentionMetadata;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.config.ModelConfig;
import dev.jlight.core.model.DeviceSampling;
import dev.jlight.core.model.ForwardBatch;
import dev.jlight.core.model.LoadProgress;
import dev.jlight.core.model.Model;
import dev.jlight.core.model.ModelLoader;
import dev.jlight.core.backend.Tensor;
import dev.jlight.core.weights.DType;
import dev.jlight.cuda.CudaBackend;
import dev.jlight.cuda.CudaGraphRunner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Model-level GPU latency of a Llama at a real shape (default Llama-3.1-8B,
 * models/shapes/llama-3.1-8b/config.json) with random bf16 weights, in one run:
 * <ul>
 *   <li>the memory floor: one device read of all weights (what a decode step must read);</li>
 *   <li>decode: B sequences with a 512-token context (its K/V not computed: the content does not
 *       change the timing) stepped 128 times; the median wall time of the later 64 steps of
 *       a step as the engine sees it: inputs up and, by default, greedy token ids picked on the
 *       device and only those B ints down ({@code Model.forwardSampled}); for comparison also
 *       {@code Model.forward} with logits [B, vocab] f32 down to the host; eagerly and through
 *       {@link CudaGraphRunner} (CUDA graphs); and the engine's overlapped loop
 *       ({@link OverlappedDecode}: step i+1 built and launched before step i's ids are awaited,
 *       its tokens taken on the device), with the host time of building and launching a step;</li>
 *   <li>prefill of 512 and 4096 tokens of one sequence;</li>
 *   <li>where a step's device time goes (device events around every op, bs 1 and 64), and the
 *       bs 1 step with the first device run's kernels (grouped attention, cuBLASLt only) for
 *       comparison.</li>
 * </ul>
 * Prints progress and the tables to stdout and writes the Markdown report to {@code --out}.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -Djlight.commit=abc1234 -cp ... dev.jlight.cuda.bench.LlamaDecodeBench
 *     [--model models/shapes/llama-3.1-8b] [--batch-sizes 1,8,32,64,128,256] [--prompt-len 512]
 *     [--decode-steps 128] [--prefill-lens 512,4096] [--profile-batches 1,64] [--out decode-bench.md]</pre>
 */
public final class LlamaDecodeBench {
    private static final int BLOCK = 16;

    private final CudaBackend gpu;
    private final ProfilingBackend prof;
    private final Model model;
    private final ModelConfig config;
    private final Map<String, String> opts;
    private final List<String> md = new ArrayList<>();
    private final SplittableRandom rnd = new SplittableRandom(42);
    private double floorMs;

    private LlamaDecodeBench(CudaBackend gpu, ProfilingBackend prof, Model model, ModelConfig config,
                             Map<String, String> opts) {
        this.gpu = gpu;
        this.prof = prof;
        this.model = model;
        this.config = config;
        this.opts = opts;
    }

    public static void main(String[] args) throws IOException {
        Map<String, String> opts = parse(args);
        CudaBackend.Availability a = CudaBackend.probe();
        if (!a.available()) {
            System.out.println("LlamaDecodeBench: no CUDA backend here: " + a.reason());
            System.exit(2);
        }
        Path modelDir = Path.of(opts.getOrDefault("model", "models/shapes/llama-3.1-8b"));
        ModelConfig config = ModelConfig.load(modelDir);
        String commit = System.getProperty("jlight.commit", "unknown");
        String command = "java -Djlight.commit=" + commit + " dev.jlight.cuda.bench.LlamaDecodeBench "
                + String.join(" ", args);
        Path out = Path.of(opts.getOrDefault("out", "decode-bench.md"));
        mdOut = out;
        long t0 = System.nanoTime();
        try (CudaBackend gpu = new CudaBackend(CudaBackend.Options.defaults().withGpuMemoryUtilization(0.92))) {
            ProfilingBackend prof = new ProfilingBackend(gpu);
            SharedDummyWeights weights = new SharedDummyWeights(7);
            Model model = ModelLoader.load(config, weights, prof, LoadProgress.NONE);
            double loadS = (System.nanoTime() - t0) / 1e9;
            LlamaDecodeBench b = new LlamaDecodeBench(gpu, prof, model, config, opts);
            b.header(modelDir, commit, command, loadS);
            b.runAll();
            model.close();
            weights.close();
            System.out.println(gpu.arena().summary());
        } catch (RuntimeException | Error e) {
            mdLines.add("");
            mdLines.add("**LlamaDecodeBench failed** (" + command + "): `" + String.valueOf(e).replace('\n', ' ') + "`");
            throw e;
        } finally {
            flush();
            System.out.println();
            System.out.println("---- " + out + " ----");
            mdLines.forEach(System.out::println);
        }
    }

    /** The report as far as it got (rewritten after every phase, so a killed run leaves it). */
    private static final List<String> mdLines = new ArrayList<>();
    private static Path mdOut;

    private static void flush() {
        try {
            Files.write(mdOut, mdLines);
        } catch (IOException e) {
            System.out.println("cannot write " + mdOut + ": " + e);
        }
    }

    private void emit(String line) {
        mdLines.add(line);
    }

    private void header(Path modelDir, String commit, String command, double loadS) {
        long h = config.hiddenSize();
        nameMatmuls();
        double weightGb = prof.weights().stream().mapToLong(t -> t.numel() * 2).sum() / 1e9;
        System.out.printf(Locale.ROOT, "device: %s%nmodel: %s (%d layers, hidden %d), %.2f GB of bf16 weights,"
                        + " loaded in %.1f s%n", gpu.describe(), modelDir, config.numLayers(), h, weightGb, loadS);
        emit("## " + modelDir.getFileName() + " on " + gpu.describe().replaceAll(" \\(.*", "") + ", "
                + LocalDate.now());
        emit("");
        emit("- card: " + gpu.describe());
        emit("- commit: " + commit + "; command: `" + command + "`");
        emit(String.format(Locale.ROOT, "- model: %s shape (%d layers, hidden %d, %d/%d heads, vocab %d), random bf16"
                        + " weights (%.2f GB); block size %d; attention %s, GEMV %s, fused rope+writeKv %s,"
                + " residual add in the GEMVs %s, norm in the GEMVs %s (%d blocks per SM), programmatic dependent"
                + " launch %s",
                modelDir.getFileName(), config.numLayers(), h, config.numHeads(), config.numKvHeads(),
                config.vocabSize(), weightGb, BLOCK, gpu.attentionKernel(), gpu.gemvMode(), gpu.fuseRopeKv(),
                gpu.fuseResidualAdd(), gpu.fuseNorm(), gpu.normGemvBlocksPerSm(), gpu.programmaticLaunch()));
    }

    private void nameMatmuls() {
        long h = config.hiddenSize();
        prof.nameMatmul(config.qDim() + 2L * config.kvDim(), h, "qkv_proj");
        prof.nameMatmul(h, config.qDim(), "o_proj");
        prof.nameMatmul(2L * config.intermediateSize(), h, "gate_up_proj");
        prof.nameMatmul(h, config.intermediateSize(), "down_proj");
        prof.nameMatmul(config.vocabSize(), h, "lm_head");
    }

    private void runAll() {
        phaseRun("memory floor", this::floor);
        int[] batches = ints(opts.getOrDefault("batch-sizes", "1,8,32,64,128,256"));
        int promptLen = Integer.parseInt(opts.getOrDefault("prompt-len", "512"));
        int steps = Integer.parseInt(opts.getOrDefault("decode-steps", "128"));
        int[] profiled = ints(opts.getOrDefault("profile-batches", "1,64"));
        List<String> breakdowns = new ArrayList<>();
        emit("");
        emit(String.format(Locale.ROOT, "Decode (context %d + %d steps; median of the later half). \"ids only\":"
                + " Model.forwardSampled, greedy ids picked on the device, B ints to the host (the engine's step);"
                + " \"logits to host\": Model.forward, logits [B, vocab] f32 to the host. \"overlapped\": the"
                + " engine's async loop (Model.launchSampled: step i+1 built and launched before step i is awaited,"
                + " its tokens taken on the device; ms between two awaits, batch building included, which the"
                + " synchronous columns leave out); \"host ms\": building + launching one overlapped graphed step."
                + " Memory floor %.3f ms per step.", promptLen, steps, floorMs));
        emit("");
        emit("| batch | eager ms/step (ids only) | graphs ms/step (ids only) | graphs tok/s (ids only)"
                + " | eager ms/step overlapped | graphs ms/step overlapped | graphs tok/s overlapped"
                + " | host ms/step overlapped (graphs) | graphs ms/step, PDL off (ids only)"
                + " | eager ms/step (logits to host) | graphs ms/step (logits to host) | bs1 TPOT vs floor |");
        emit("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (int bs : batches) {
            phaseRun("decode batch " + bs, () -> emit(decode(bs, promptLen, steps,
                    Arrays.stream(profiled).anyMatch(p -> p == bs) ? breakdowns : null)));
        }
        emit("");
        emit("Prefill (one sequence, logits of the last token; median of 3 after a warm-up).");
        emit("");
        emit("| tokens | ms | tok/s |");
        emit("|---:|---:|---:|");
        for (int len : ints(opts.getOrDefault("prefill-lens", "512,4096"))) {
            phaseRun("prefill " + len, () -> emit(prefill(len)));
        }
        String variants = phase("variants", () -> variants(promptLen, steps));
        if (variants != null) {
            emit("");
            emit(variants);
        }
        String baseline = phase("bs1 baseline", () -> baseline(promptLen, steps));
        if (baseline != null) {
            emit("");
            emit(baseline);
        }
        List<String> gemv = gpu.gemvDecisions();
        if (!gemv.isEmpty()) {
            emit("");
            emit("GEMV vs cuBLASLt, timed at first use (L2 flushed):");
            emit("");
            gemv.forEach(g -> emit("- " + g));
        }
        List<String> tuned = gpu.matmulTunings();
        if (!tuned.isEmpty()) {
            emit("");
            emit("cuBLASLt algorithms for decode-sized products (T = 16..256), each of the heuristic's candidates"
                    + " timed at first use (L2 flushed), the fastest kept:");
            emit("");
            tuned.forEach(g -> emit("- " + g));
        }
        breakdowns.forEach(this::emit);
    }

    /** Runs a phase; a failure is printed and reported, and the next phase goes on. */
    private <T> T phase(String name, java.util.function.Supplier<T> body) {
        long t0 = System.nanoTime();
        System.out.println("== " + name);
        flush();
        try {
            T r = body.get();
            System.out.printf(Locale.ROOT, "== %s done in %.1f s%n", name, (System.nanoTime() - t0) / 1e9);
            return r;
        } catch (RuntimeException | Error e) {
            System.out.println("== " + name + " FAILED: " + e);
            e.printStackTrace(System.out);
            emit("");
            emit("**" + name + " failed**: `" + String.valueOf(e).replace('\n', ' ') + "`");
            return null;
        }
    }

    private void phaseRun(String name, Runnable body) {
        phase(name, () -> {
            body.run();
            return Boolean.TRUE;
        });
    }

    // ---- memory floor ---------------------------------------------------------------------------

    private void floor() {
        List<Tensor> w = prof.weights();
        long[] bytes = new long[1];
        double[] ms = gpu.timeMs(() -> bytes[0] = gpu.readAll(w), 3, 10);
        floorMs = median(ms);
        double gbs = bytes[0] / (floorMs * 1e6);
        long n = 1L << 29;
        Tensor src = gpu.allocate(DType.BF16, n / 4096, 4096);
        Tensor dst = gpu.allocate(DType.BF16, n / 4096, 4096);
        double copyMs = median(gpu.timeMs(() -> gpu.copy(dst, src), 3, 10));
        double copyGbs = 2.0 * n * 2 / (copyMs * 1e6);
        String line = String.format(Locale.ROOT, "- memory floor: one read of all weights (%.2f GB) takes %.3f ms"
                + " (%.0f GB/s): at most %.0f decode steps/s. For reference, a 1 GiB device copy moves %.0f GB/s"
                + " (read + write).", bytes[0] / 1e9, floorMs, gbs, 1e3 / floorMs, copyGbs);
        System.out.println(line);
        emit(line);
    }

    // ---- decode -------------------------------------------------------------------------------

    /** B sequences with contiguous blocks, each already {@code start} tokens long. */
    private static final class DecodeSeqs {
        final int n;
        final int start;
        final int maxLen;
        final int[][] tables;
        final int[] lens;

        DecodeSeqs(int n, int start, int maxLen) {
            this.n = n;
            this.start = start;
            this.maxLen = maxLen;
            int blocks = (maxLen + BLOCK - 1) / BLOCK;
            tables = new int[n][blocks];
            for (int s = 0; s < n; s++) {
                for (int b = 0; b < blocks; b++) {
                    tables[s][b] = s * blocks + b;
                }
            }
            lens = new int[n];
            reset();
        }

        void reset() {
            Arrays.fill(lens, start);
        }

        int blocksNeeded() {
            return n * tables[0].length;
        }

        ForwardBatch next(int[] tokens) {
            int[] positions = new int[n];
            int[] slots = new int[n];
            int[] qs = new int[n + 1];
            int[] seqLens = new int[n];
            int[] rows = new int[n];
            for (int s = 0; s < n; s++) {
                int p = lens[s]++;
                positions[s] = p;
                slots[s] = tables[s][p / BLOCK] * BLOCK + p % BLOCK;
                qs[s + 1] = s + 1;
                seqLens[s] = lens[s];
                rows[s] = s;
            }
            return new ForwardBatch(tokens, positions, new AttentionMetadata(qs, seqLens, tables, slots, BLOCK), rows);
        }
    }

    private int[] randomTokens(int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = rnd.nextInt(config.vocabSize());
        }
        return t;
    }

    /** Median ms of the later half of {@code steps} steps: ids only (greedy on the device) or logits to the host. */
    private double decodeSteps(Model m, DecodeSeqs seqs, KvCache kv, int steps, boolean idsOnly) {
        seqs.reset();
        double[] ms = new double[steps];
        DeviceSampling greedy = DeviceSampling.greedy(seqs.n);
        for (int i = 0; i < steps; i++) {
            ForwardBatch b = seqs.next(randomTokens(seqs.n));
            long t0 = System.nanoTime();
            step(m, b, kv, idsOnly ? greedy : null);
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        return median(Arrays.copyOfRange(ms, steps / 2, steps));
    }

    private static void step(Model m, ForwardBatch b, KvCache kv, DeviceSampling sampling) {
        if (sampling != null) {
            m.forwardSampled(b, kv, sampling);
        } else {
            m.forward(b, kv);
        }
    }

    /** Eager and graphed medians of one step kind; graphs NaN when the runner failed. */
    private double[] decodeBoth(int bs, DecodeSeqs seqs, KvCache kv, int steps, boolean idsOnly) {
        String kind = idsOnly ? "ids only" : "logits to host";
        double eager = decodeSteps(model, seqs, kv, steps, idsOnly);
        System.out.printf(Locale.ROOT, "batch %d eager (%s): %.3f ms/step, %.0f tok/s%n", bs, kind, eager,
                bs * 1e3 / eager);
        return new double[] {eager, graphSteps(bs, seqs, kv, steps, idsOnly, kind)};
    }

    /** Median ms of graphed steps (a fresh runner, so a fresh capture); NaN when the runner failed. */
    private double graphSteps(int bs, DecodeSeqs seqs, KvCache kv, int steps, boolean idsOnly, String kind) {
        try (CudaGraphRunner runner = new CudaGraphRunner(model, gpu, kv, seqs.maxLen)) {
            double graphs = decodeSteps(runner, seqs, kv, steps, idsOnly);
            CudaGraphRunner.Stats stats = runner.stats();
            System.out.printf(Locale.ROOT, "batch %d graphs (%s): %.3f ms/step, %.0f tok/s (%s)%n", bs, kind, graphs,
                    bs * 1e3 / graphs, stats);
            if (stats.replays() < steps / 2) {
                graphNotes.add(kind + ": " + stats);
            }
            return graphs;
        } catch (RuntimeException e) {
            System.out.println("batch " + bs + " graphs (" + kind + ") FAILED: " + e);
            e.printStackTrace(System.out);
            return Double.NaN;
        }
    }

    /** The overlapped loop, eager or through a fresh graph runner; NaN where it failed (the table goes on). */
    private OverlappedDecode.Result overlapped(int bs, DecodeSeqs seqs, KvCache kv, int steps, boolean graphs) {
        String kind = graphs ? "graphs" : "eager";
        seqs.reset();
        CudaGraphRunner runner = graphs ? new CudaGraphRunner(model, gpu, kv, seqs.maxLen) : null;
        try {
            OverlappedDecode.Result r = OverlappedDecode.run(graphs ? runner : model, kv, bs, steps,
                    randomTokens(bs), seqs::next);
            System.out.printf(Locale.ROOT, "batch %d %s overlapped: %.3f ms/step, %.0f tok/s, host %.3f ms/step%s%n",
                    bs, kind, r.msPerStep(), bs * 1e3 / r.msPerStep(), r.hostMsPerStep(),
                    runner == null ? "" : " (" + runner.stats() + ")");
            if (runner != null && runner.stats().replays() < steps / 2) {
                graphNotes.add("overlapped: " + runner.stats());
            }
            return r;
        } catch (RuntimeException e) {
            System.out.println("batch " + bs + " " + kind + " overlapped FAILED: " + e);
            e.printStackTrace(System.out);
            return new OverlappedDecode.Result(Double.NaN, Double.NaN);
        } finally {
            if (runner != null) {
                runner.close();
            }
        }
    }

    /** Graphed ids-only steps with programmatic dependent launch off (NaN where it was off anyway). */
    private double withoutPdl(int bs, DecodeSeqs seqs, KvCache kv, int steps) {
        if (!gpu.programmaticLaunch()) {
            return Double.NaN;
        }
        gpu.setProgrammaticLaunch(false);
        try {
            return graphSteps(bs, seqs, kv, steps, true, "ids only, no PDL");
        } finally {
            gpu.setProgrammaticLaunch(true);
        }
    }

    private final List<String> graphNotes = new ArrayList<>();

    private String decode(int bs, int promptLen, int steps, List<String> breakdowns) {
        DecodeSeqs seqs = new DecodeSeqs(bs, promptLen, promptLen + steps + 8);
        try (KvCache kv = gpu.allocateKvCache(model.kvCacheSpec(seqs.blocksNeeded(), BLOCK))) {
            graphNotes.clear();
            double[] ids = decodeBoth(bs, seqs, kv, steps, true);
            OverlappedDecode.Result eagerOver = overlapped(bs, seqs, kv, steps, false);
            OverlappedDecode.Result graphOver = overlapped(bs, seqs, kv, steps, true);
            double[] logits = decodeBoth(bs, seqs, kv, steps, false);
            double noPdl = withoutPdl(bs, seqs, kv, steps);
            if (breakdowns != null) {
                breakdowns.add(breakdown(bs, seqs, kv, ids[0], ids[1]));
            }
            double best = Double.isNaN(ids[1]) ? ids[0] : Math.min(ids[0], ids[1]);
            String vsFloor = bs == 1 ? String.format(Locale.ROOT, "%.2f× (eager %.2f×)", best / floorMs,
                    ids[0] / floorMs) : "";
            String note = graphNotes.isEmpty() ? "" : " (graphs: " + String.join("; ", graphNotes) + ")";
            return String.format(Locale.ROOT, "| %d | %.3f | %.3f | %.0f | %.3f | %.3f | %.0f | %.3f | %.3f | %.3f"
                    + " | %.3f | %s |%s", bs, ids[0], ids[1], bs * 1e3 / ids[1], eagerOver.msPerStep(),
                    graphOver.msPerStep(), bs * 1e3 / graphOver.msPerStep(), graphOver.hostMsPerStep(), noPdl,
                    logits[0], logits[1], vsFloor, note);
        }
    }

    /** One eager step with every op bracketed by device events: where the device time goes. */
    private String breakdown(int bs, DecodeSeqs seqs, KvCache kv, double eagerMs, double graphMs) {
        seqs.reset();
        DeviceSampling greedy = DeviceSampling.greedy(bs);
        for (int i = 0; i < 3; i++) {
            model.forwardSampled(seqs.next(randomTokens(bs)), kv, greedy);
        }
        try (CudaBackend.Timeline tl = gpu.timeline()) {
            ForwardBatch b = seqs.next(randomTokens(bs));
            prof.profile(tl);
            long t0 = System.nanoTime();
            try {
                model.forwardSampled(b, kv, greedy);
            } finally {
                prof.profile(null);
            }
            double wall = (System.nanoTime() - t0) / 1e6;
            Map<String, double[]> by = new LinkedHashMap<>();
            double total = 0;
            for (CudaBackend.Timeline.Span s : tl.read()) {
                double[] v = by.computeIfAbsent(s.label(), k -> new double[2]);
                v[0]++;
                v[1] += s.ms();
                total += s.ms();
            }
            StringBuilder sb = new StringBuilder();
            sb.append(String.format(Locale.ROOT, "%nWhere a decode step's device time goes, batch %d (one eager"
                    + " ids-only step, device events around each op):%n%n", bs));
            sb.append("| op | calls | ms | share |\n|---|---:|---:|---:|\n");
            List<Map.Entry<String, double[]>> es = new ArrayList<>(by.entrySet());
            es.sort((x, y) -> Double.compare(y.getValue()[1], x.getValue()[1]));
            for (Map.Entry<String, double[]> e : es) {
                sb.append(String.format(Locale.ROOT, "| %s | %d | %.3f | %.1f%% |%n", e.getKey(), (int) e.getValue()[0],
                        e.getValue()[1], 100 * e.getValue()[1] / total));
            }
            sb.append(String.format(Locale.ROOT, "%nSum of op device times %.3f ms (memory floor %.3f ms). Unprofiled"
                    + " step: eager %.3f ms, CUDA graphs %.3f ms; eager − op sum = %.3f ms of launch gaps and host"
                    + " work (the profiled step took %.3f ms of wall time with the events).", total, floorMs, eagerMs,
                    graphMs, eagerMs - total, wall));
            String s = sb.toString();
            System.out.println(s);
            return s;
        }
    }

    /**
     * Graphed ids-only steps at batch 1 and 64 under settings other than the defaults, measured in
     * the same run as the table above: decode-attention split sizes other than SplitPlan's, the
     * CUDA-core decode attention instead of the tensor-core one, and the GEMV for every T <= 8
     * matmul instead of AUTO's timed choice, the norms and residual adds apart from the GEMVs.
     * What a default should be.
     */
    private String variants(int promptLen, int steps) {
        StringBuilder sb = new StringBuilder("Variants (graphs, ids only, ms/step; same run):");
        // {8, 96} and {1, 64}: the plans before MIN_SPLIT went from 64 to 128
        int[][] cases = {{1, 0}, {1, 64}, {1, 256}, {1, 1 << 20}, {8, 0}, {8, 96}, {64, 0}, {64, 256}, {64, 512}};
        for (int[] c : cases) {
            int bs = c[0];
            DecodeSeqs seqs = new DecodeSeqs(bs, promptLen, promptLen + steps + 8);
            try (KvCache kv = gpu.allocateKvCache(model.kvCacheSpec(seqs.blocksNeeded(), BLOCK))) {
                gpu.forceDecodeSplitSize(c[1]);
                String label = c[1] == 0 ? "planned splits" : c[1] >= 1 << 20 ? "no split" : "split " + c[1];
                double ms = graphSteps(bs, seqs, kv, steps, true, label);
                sb.append(String.format(Locale.ROOT, " batch %d %s %.3f;", bs, label, ms));
            } finally {
                gpu.forceDecodeSplitSize(0);
            }
        }
        // the CUDA-core decode attention against the default tensor-core one ("planned splits" above)
        CudaBackend.DecodeAttention da = gpu.decodeAttention();
        for (int bs : new int[] {1, 64}) {
            DecodeSeqs seqs = new DecodeSeqs(bs, promptLen, promptLen + steps + 8);
            try (KvCache kv = gpu.allocateKvCache(model.kvCacheSpec(seqs.blocksNeeded(), BLOCK))) {
                gpu.setDecodeAttention(CudaBackend.DecodeAttention.SIMT);
                sb.append(String.format(Locale.ROOT, " batch %d SIMT decode attention %.3f;", bs,
                        graphSteps(bs, seqs, kv, steps, true, "SIMT decode attention")));
            } finally {
                gpu.setDecodeAttention(da);
            }
        }
        CudaBackend.GemvMode gm = gpu.gemvMode();
        DecodeSeqs seqs = new DecodeSeqs(1, promptLen, promptLen + steps + 8);
        try (KvCache kv = gpu.allocateKvCache(model.kvCacheSpec(seqs.blocksNeeded(), BLOCK))) {
            gpu.setGemvMode(CudaBackend.GemvMode.ON);
            sb.append(String.format(Locale.ROOT, " batch 1 GEMV for every matmul %.3f;",
                    graphSteps(1, seqs, kv, steps, true, "GEMV on")));
            gpu.setGemvMode(gm);
            gpu.setFuseSwiGlu(false);
            sb.append(String.format(Locale.ROOT, " batch 1 gate/up GEMV + siluMul apart %.3f;",
                    graphSteps(1, seqs, kv, steps, true, "swiglu apart")));
            gpu.setFuseSwiGlu(true);
            sb.append(String.format(Locale.ROOT, " batch 1 defaults again %.3f;",
                    graphSteps(1, seqs, kv, steps, true, "defaults")));
        } finally {
            gpu.setGemvMode(gm);
            gpu.setFuseSwiGlu(true);
        }
        sb.append(normVariants(promptLen, steps));
        sb.append(prefetchVariants(promptLen, steps));
        sb.append(offThenOn(new int[] {32, 64, 128}, promptLen, steps, gpu::setTuneMatmuls, true,
                "cuBLASLt heuristic's first algorithm", "timed cuBLASLt algorithms (default)"));
        System.out.println(sb);
        return sb.toString();
    }

    /**
     * The residual adds in the GEMVs' epilogue (gemv_add_bf16) against separate adds, at batch 1
     * and 8; and the RMSNorm in the GEMVs' prologue (gemv_norm_*, off by default: see
     * CudaBackend.fuseNorm) against the separate norm kernel at batch 1 and 4 (at 8 the normed rows
     * no longer fit the GEMV's shared memory).
     */
    private String normVariants(int promptLen, int steps) {
        String adds = offThenOn(new int[] {1, 8}, promptLen, steps, gpu::setFuseResidualAdd, gpu.fuseResidualAdd(),
                "residual add apart from GEMV", "residual add in GEMV");
        return adds + offThenOn(new int[] {1, 4}, promptLen, steps, gpu::setFuseNorm, gpu.fuseNorm(),
                "norm apart from GEMV", "norm in GEMV (" + gpu.normGemvBlocksPerSm() + " blocks per SM)");
    }

    /** The decode attention's L2 prefetch of its split's first K/V rows before its PDL wait, off vs on. */
    private String prefetchVariants(int promptLen, int steps) {
        int rows = gpu.attentionPrefetch();
        // larger batches do not split: no prefetch
        return offThenOn(new int[] {1, 8}, promptLen, steps, on -> gpu.setAttentionPrefetch(on ? rows : 0), true,
                "no attention L2 prefetch", "attention L2 prefetch " + rows + " rows (default)");
    }

    /**
     * Graphed ids-only steps at each batch size with a setting off, then on (" batch N label ms;"
     * each), the setting left at {@code restore} afterwards.
     */
    private String offThenOn(int[] batches, int promptLen, int steps, Consumer<Boolean> set, boolean restore,
                             String offLabel, String onLabel) {
        StringBuilder sb = new StringBuilder();
        for (int bs : batches) {
            DecodeSeqs seqs = new DecodeSeqs(bs, promptLen, promptLen + steps + 8);
            try (KvCache kv = gpu.allocateKvCache(model.kvCacheSpec(seqs.blocksNeeded(), BLOCK))) {
                for (boolean on : new boolean[] {false, true}) {
                    set.accept(on);
                    String label = on ? onLabel : offLabel;
                    sb.append(String.format(Locale.ROOT, " batch %d %s %.3f;", bs, label,
                            graphSteps(bs, seqs, kv, steps, true, label)));
                }
            } finally {
                set.accept(restore);
            }
        }
        return sb.toString();
    }

    /** bs 1 with the first device run's configuration: grouped attention, cuBLASLt only, eager. */
    private String baseline(int promptLen, int steps) {
        CudaBackend.AttentionKernel ak = gpu.attentionKernel();
        CudaBackend.GemvMode gm = gpu.gemvMode();
        DecodeSeqs seqs = new DecodeSeqs(1, promptLen, promptLen + steps + 8);
        try (KvCache kv = gpu.allocateKvCache(model.kvCacheSpec(seqs.blocksNeeded(), BLOCK))) {
            gpu.setAttentionKernel(CudaBackend.AttentionKernel.GROUPED);
            gpu.setGemvMode(CudaBackend.GemvMode.OFF);
            double ms = decodeSteps(model, seqs, kv, steps, false);
            gpu.setAttentionKernel(CudaBackend.AttentionKernel.SPLIT);
            double splitOnly = decodeSteps(model, seqs, kv, steps, false);
            // run 4's defaults: split-KV attention, GEMV as configured, rope and writeKv apart
            boolean fuse = gpu.fuseRopeKv();
            gpu.setGemvMode(gm);
            gpu.setFuseRopeKv(false);
            double run4 = decodeSteps(model, seqs, kv, steps, false);
            gpu.setFuseRopeKv(fuse);
            String line = String.format(Locale.ROOT, "Batch 1, eager, for comparison: with the first device run's"
                    + " kernels (grouped attention without splits, cuBLASLt for every matmul) %.3f ms/step; with"
                    + " split-KV attention but cuBLASLt only %.3f ms/step; with run 4's kernels (split-KV attention,"
                    + " rope and writeKv apart) %.3f ms/step.", ms, splitOnly, run4);
            System.out.println(line);
            return line;
        } finally {
            gpu.setAttentionKernel(ak);
            gpu.setGemvMode(gm);
        }
    }

    // ---- prefill ------------------------------------------------------------------------------

    private String prefill(int len) {
        int blocks = (len + BLOCK - 1) / BLOCK;
        int[] table = new int[blocks];
        for (int i = 0; i < blocks; i++) {
            table[i] = i;
        }
        int[] tokens = randomTokens(len);
        int[] positions = new int[len];
        int[] slots = new int[len];
        for (int i = 0; i < len; i++) {
            positions[i] = i;
            slots[i] = i;
        }
        try (KvCache kv = gpu.allocateKvCache(model.kvCacheSpec(blocks, BLOCK))) {
            double[] ms = new double[4];
            for (int r = 0; r < ms.length; r++) {
                ForwardBatch b = new ForwardBatch(tokens, positions, new AttentionMetadata(new int[] {0, len},
                        new int[] {len}, new int[][] {table}, slots, BLOCK), new int[] {len - 1});
                long t0 = System.nanoTime();
                model.forward(b, kv);
                ms[r] = (System.nanoTime() - t0) / 1e6;
            }
            double med = median(Arrays.copyOfRange(ms, 1, ms.length));
            System.out.printf(Locale.ROOT, "prefill %d: %.2f ms, %.0f tok/s (first run %.2f ms)%n", len, med,
                    len * 1e3 / med, ms[0]);
            // the same prefill with the split-KV attention kernel instead of flash, for comparison
            String other = "";
            CudaBackend.AttentionKernel before = gpu.attentionKernel();
            if (before == CudaBackend.AttentionKernel.AUTO && len >= 512) {
                try {
                    gpu.setAttentionKernel(CudaBackend.AttentionKernel.SPLIT);
                    ForwardBatch b = new ForwardBatch(tokens, positions, new AttentionMetadata(new int[] {0, len},
                            new int[] {len}, new int[][] {table}, slots, BLOCK), new int[] {len - 1});
                    long t0 = System.nanoTime();
                    model.forward(b, kv);
                    double split = (System.nanoTime() - t0) / 1e6;
                    other = String.format(Locale.ROOT, " (with split-KV instead of flash attention: %.2f ms)", split);
                    System.out.println("prefill " + len + other);
                } finally {
                    gpu.setAttentionKernel(before);
                }
            }
            return String.format(Locale.ROOT, "| %d | %.2f | %.0f |%s", len, med, len * 1e3 / med, other);
        }
    }

    // ---- helpers ------------------------------------------------------------------------------

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static int[] ints(String csv) {
        return Arrays.stream(csv.split(",")).map(String::trim).filter(x -> !x.isEmpty()).mapToInt(Integer::parseInt)
                .toArray();
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("usage: LlamaDecodeBench [--model DIR] [--batch-sizes 1,8,...]"
                        + " [--prompt-len N] [--decode-steps N] [--prefill-lens 512,4096] [--profile-batches 1,64]"
                        + " [--out FILE]; got " + args[i]);
            }
            m.put(args[i].substring(2), args[++i]);
        }
        return m;
    }
}
