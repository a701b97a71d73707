package dev.jlight.server.cli;

import dev.jlight.server.ServerRuntime;
import dev.jlight.core.engine.EngineRequest;
import dev.jlight.core.engine.RequestOutput;
import dev.jlight.core.engine.RequestStream;
import dev.jlight.core.engine.SamplingParams;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Offline throughput through the engine (vLLM's benchmark_throughput): all prompts submitted at
 * once, the scheduler batching at most --max-num-seqs of them; requests/s and tokens/s. With a
 * list of batch sizes it reloads nothing and runs each in turn on the same engine settings.
 */
@Command(name = "throughput", mixinStandardHelpOptions = true,
        description = "Offline throughput of the engine in this process (no HTTP).")
final class BenchThroughputCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = "--batch", split = ",", defaultValue = "1,8,32",
            description = "Concurrent sequences (the engine's max-num-seqs); a list runs each. Default: ${DEFAULT-VALUE}")
    List<Integer> batches;

    @Option(names = "--num-prompts", defaultValue = "0", description = "Requests per run (0 = 2 × batch, at least 4).")
    int numPrompts;

    @Option(names = "--input-len", defaultValue = "64")
    int inputLen;

    @Option(names = "--output-len", defaultValue = "64")
    int outputLen;

    @Mixin
    ResultsMdOption resultsMd;

    @Override
    public Integer call() throws IOException {
        List<String> rows = new ArrayList<>();
        rows.add("| batch | requests | input | output | requests/s | output tok/s | total tok/s | vs batch 1 |");
        rows.add("|---|---|---|---|---|---|---|---|");
        rows.forEach(System.out::println);
        double base = 0;
        for (int batch : batches) {
            model.maxNumSeqs = batch;
            if (model.maxNumBatchedTokens != null && model.maxNumBatchedTokens < batch) {
                model.maxNumBatchedTokens = batch;
            }
            int n = numPrompts > 0 ? numPrompts : Math.max(4, 2 * batch);
            try (ServerRuntime local = model.load()) {
                run(local, Math.min(batch, 4), 1); // warm the JIT on the same code paths
                double seconds = run(local, n, 2);
                double outTok = (double) n * outputLen / seconds;
                if (base == 0) {
                    base = outTok;
                }
                String row = String.format("| %d | %d | %d | %d | %.2f | %.1f | %.1f | %.2fx |", batch, n, inputLen, outputLen,
                        n / seconds, outTok, (double) n * (inputLen + outputLen) / seconds, outTok / base);
                System.out.println(row);
                rows.add(row);
            }
        }
        resultsMd.append("throughput", ", model " + model.model + ", input " + inputLen + ", output " + outputLen, rows);
        return 0;
    }

    /** Submits n random prompts at once and waits for all; returns the wall time in seconds. */
    private double run(ServerRuntime local, int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int vocab = local.config().vocabSize();
        SamplingParams params = SamplingParams.builder().temperature(0).maxTokens(outputLen).ignoreEos(true).build();
        long t0 = System.nanoTime();
        List<RequestStream> streams = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] ids = new int[inputLen];
            for (int j = 0; j < inputLen; j++) {
                ids[j] = rnd.nextInt(vocab);
            }
            streams.add(local.engine().generate(new EngineRequest("bench-" + seed + "-" + i, ids, params)));
        }
        for (RequestStream s : streams) {
            for (RequestOutput ignored : s) {
                // drain
            }
        }
        return (System.nanoTime() - t0) / 1e9;
    }
}
