package dev.jlight.server.cli;

import dev.jlight.core.backend.KvCache;
import dev.jlight.core.config.ModelConfig;
import dev.jlight.core.model.Model;
import dev.jlight.core.model.ModelFolder;
import dev.jlight.core.model.ModelLoader;
import dev.jlight.core.model.StaticBatch;
import dev.jlight.core.weights.Weights;
import dev.jlight.cpu.CpuBackend;
import dev.jlight.cpu.MemoryFloor;
import dev.jlight.server.bench.RunStamp;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Model-level latency: prefill of {@code batch × input-len} tokens, then {@code output-len}
 * decode steps of {@code batch} tokens, timed step by step, printed beside the memory-bandwidth
 * floor (one read of all weights) measured in the same run on the same weights.
 */
@Command(name = "latency", mixinStandardHelpOptions = true,
        description = "Prefill and decode timing of the model alone (no scheduler), beside the memory floor.")
final class BenchLatencyCommand implements Callable<Integer> {
    @Option(names = "--model", defaultValue = "models/shapes/llama-3.2-1b",
            description = "Model folder (config.json is enough with --load-format dummy). Default: ${DEFAULT-VALUE}")
    Path model;

    @Option(names = "--load-format", defaultValue = "dummy", description = "auto, safetensors or dummy. Default: ${DEFAULT-VALUE}")
    String loadFormat;

    @Option(names = "--batch-size", split = ",", defaultValue = "1", description = "Sequences per step; a list runs each.")
    List<Integer> batchSizes;

    @Option(names = "--input-len", defaultValue = "32")
    int inputLen;

    @Option(names = "--output-len", defaultValue = "16")
    int outputLen;

    @Option(names = "--threads", defaultValue = "0", description = "CPU threads (0 = all cores).")
    int threads;

    @Option(names = "--block-size", defaultValue = "16")
    int blockSize;

    @Mixin
    ResultsMdOption resultsMd;

    @Override
    public Integer call() throws IOException {
        int nThreads = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        ModelFolder.LoadFormat format = ModelFolder.LoadFormat.parse(loadFormat);
        ModelConfig config = ModelConfig.load(model);
        ModelLoader.checkSupported(config);
        long bytes = ModelFolder.weightBytes(model, config, format);
        ProgressBar bar = new ProgressBar(System.err, "loading " + model.getFileName(), bytes);
        List<String> rows = new ArrayList<>();
        try (Weights weights = ModelFolder.openWeights(model, config, format, b -> { });
             CpuBackend backend = new CpuBackend(nThreads);
             Model m = ModelLoader.load(config, weights, backend, bar)) {
            List<MemorySegment> segs = new ArrayList<>();
            for (String n : weights.names()) {
                weights.find(n).ifPresent(t -> segs.add(t.data()));
            }
            MemoryFloor.Result floor = MemoryFloor.measure(segs, nThreads, 5);
            double floorMs = floor.seconds() * 1e3;
            System.out.printf("model %s (%s weights, %.2f GB), backend cpu, %d threads, %s%n", model, format,
                    bytes / 1e9, nThreads, RunStamp.hardware());
            System.out.printf("memory floor: %.2f ms per read of all weights (%.1f GB/s) -> at most %.1f decode steps/s%n",
                    floorMs, floor.gbPerSecond(), 1e3 / floorMs);
            System.out.println("| batch | input | output | prefill tok/s | decode ms/step | decode tok/s | floor ms | step/floor |");
            System.out.println("|---|---|---|---|---|---|---|---|");
            runOne(m, 1, floorMs, 4); // warm the JIT on the prefill and decode paths before timing
            for (int bs : batchSizes) {
                String row = runOne(m, bs, floorMs, outputLen);
                System.out.println(row);
                rows.add(row);
            }
        }
        resultsMd.append("latency", "", rows);
        return 0;
    }

    private String runOne(Model m, int bs, double floorMs, int outputLen) {
        int vocab = m.vocabSize();
        StaticBatch batch = new StaticBatch(bs, inputLen + outputLen + 1, blockSize);
        SplittableRandom rnd = new SplittableRandom(7);
        try (KvCache kv = m.backend().allocateKvCache(m.kvCacheSpec(batch.blocksNeeded(), blockSize))) {
            int[][] prompt = new int[bs][inputLen];
            for (int[] p : prompt) {
                for (int i = 0; i < p.length; i++) {
                    p[i] = rnd.nextInt(vocab);
                }
            }
            long t0 = System.nanoTime();
            float[] logits = m.forward(batch.next(prompt), kv);
            double prefillS = (System.nanoTime() - t0) / 1e9;
            double[] steps = new double[outputLen];
            for (int step = 0; step < outputLen; step++) {
                int[][] next = new int[bs][1];
                for (int s = 0; s < bs; s++) {
                    next[s][0] = argmax(logits, s, vocab);
                }
                long s0 = System.nanoTime();
                logits = m.forward(batch.next(next), kv);
                steps[step] = (System.nanoTime() - s0) / 1e6;
            }
            // the first decode steps warm the JIT: report the median of the second half
            double[] tail = java.util.Arrays.copyOfRange(steps, outputLen / 2, outputLen);
            java.util.Arrays.sort(tail);
            double stepMs = tail[tail.length / 2];
            return String.format("| %d | %d | %d | %.1f | %.2f | %.2f | %.2f | %.2f |", bs, inputLen, outputLen,
                    bs * inputLen / prefillS, stepMs, bs * 1e3 / stepMs, floorMs, stepMs / floorMs);
        }
    }

    private static int argmax(float[] logits, int row, int vocab) {
        int best = 0;
        for (int i = 1; i < vocab; i++) {
            if (logits[row * vocab + i] > logits[row * vocab + best]) {
                best = i;
            }
        }
        return best;
    }
}
