package dev.jlight.server.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.jlight.core.engine.CompletionResult;
import dev.jlight.core.engine.EngineMetrics;
import dev.jlight.core.engine.EngineRequest;
import dev.jlight.core.engine.RequestStream;
import dev.jlight.core.engine.SamplingParams;
import dev.jlight.core.testing.RepoPaths;
import dev.jlight.cuda.CudaBackend;
import dev.jlight.server.ServerRuntime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

/**
 * Overlapped (async) scheduling on the GPU, through the serving stack (demo model, CUDA graphs,
 * device sampling): the same greedy and seeded requests give the same tokens with
 * --async-scheduling and --no-async-scheduling. The requests are shaped so that both runs form
 * the same batches (equal prompt lengths, all admitted in the first step, ignore_eos, equal
 * max_tokens, no prefix caching), so bf16 results match bit for bit. Prints the async steps
 * (more than 0 once the model launches asynchronously) and each run's bs1 decode time per
 * token, the figure overlapping exists to lower.
 */
@Tag("gpu")
@Timeout(600)
class AsyncSchedulingGpuTest {
    private static final int PROMPT = 40;
    private static final int MAX_TOKENS = 64;

    private static ServerRuntime load(boolean async) {
        ModelOptions o = new ModelOptions();
        // -Djlight.test.demoWeights=dummy: random weights of the demo's shapes (as CudaEngineTest), for
        // device runs that leave the trained weights behind; equal batches make the runs equal anyway
        String format = "dummy".equals(System.getProperty("jlight.test.demoWeights")) ? "dummy" : "auto";
        new CommandLine(o).parseArgs("--model", RepoPaths.root().resolve(ModelOptions.DEMO_MODEL).toString(),
                "--device", "cuda", "--load-format", format, "--max-model-len", "512", "--kv-cache-memory", "1GiB",
                "--no-enable-prefix-caching", async ? "--async-scheduling" : "--no-async-scheduling");
        return o.load();
    }

    private static int[] prompt(int seed, int vocab) {
        Random r = new Random(seed);
        int[] p = new int[PROMPT];
        for (int i = 0; i < PROMPT; i++) {
            p[i] = 6 + r.nextInt(vocab - 6);
        }
        return p;
    }

    private static SamplingParams params(int i) {
        SamplingParams.Builder b = SamplingParams.builder().maxTokens(MAX_TOKENS).ignoreEos(true);
        return i % 2 == 0 ? b.temperature(0).build() : b.temperature(0.9).topP(0.9).topK(40).seed(100L + i).build();
    }

    /** Every request's tokens (choices in order), then the bs1 decode time per token in ms. */
    private record Run(List<List<int[]>> tokens, double msPerToken, EngineMetrics metrics) {
    }

    private static Run run(boolean async) throws Exception {
        try (ServerRuntime rt = load(async)) {
            int vocab = rt.config().vocabSize();
            List<RequestStream> streams = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                SamplingParams p = i == 7 ? SamplingParams.builder().maxTokens(MAX_TOKENS).ignoreEos(true)
                        .temperature(0.8).seed(7L).n(3).build() : params(i);
                streams.add(rt.engine().generate(new EngineRequest("r" + i, prompt(i, vocab), p)));
            }
            List<List<int[]>> tokens = new ArrayList<>();
            for (RequestStream s : streams) {
                List<int[]> choices = new ArrayList<>();
                for (CompletionResult.Choice c : s.collect().choices()) {
                    choices.add(c.tokenIds());
                }
                tokens.add(choices);
            }
            // bs1 decode: 256 tokens after a short prompt, timed from the first token to the last
            SamplingParams greedy = SamplingParams.builder().temperature(0).maxTokens(256).ignoreEos(true).build();
            rt.engine().generate(new EngineRequest("warm", prompt(99, vocab), greedy)).collect();
            CompletionResult r = rt.engine().generate(new EngineRequest("bs1", prompt(98, vocab), greedy)).collect();
            double ms = (r.timing().lastTokenNanos() - r.timing().firstTokenNanos()) / 1e6 / (r.generatedTokens() - 1);
            return new Run(tokens, ms, rt.engine().metrics());
        }
    }

    @Test
    void asyncOnAndOffGiveTheSameTokens() throws Exception {
        assumeTrue(CudaBackend.probe().available(), () -> "skipped, no GPU: " + CudaBackend.probe().reason());
        Run off = run(false);
        Run on = run(true);
        System.out.printf(Locale.ROOT, "AsyncSchedulingGpuTest: bs1 decode %.3f ms/token sync, %.3f ms/token async "
                + "(%d of %d steps overlapped)%n", off.msPerToken(), on.msPerToken(), on.metrics().asyncSteps(),
                on.metrics().steps());
        assertEquals(0, off.metrics().asyncSteps());
        for (int i = 0; i < off.tokens().size(); i++) {
            for (int c = 0; c < off.tokens().get(i).size(); c++) {
                assertEquals(Arrays.toString(off.tokens().get(i).get(c)), Arrays.toString(on.tokens().get(i).get(c)),
                        "request " + i + " choice " + c);
            }
        }
    }
}
