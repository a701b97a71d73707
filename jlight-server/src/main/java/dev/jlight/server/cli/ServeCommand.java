package dev.jlight.server.cli;

import dev.jlight.core.JLightException;
import dev.jlight.core.model.ModelFolder;
import dev.jlight.server.ByteSize;
import dev.jlight.server.OpenAiServer;
import dev.jlight.server.ServerOptions;
import dev.jlight.server.ServerRuntime;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code jlight serve}: the OpenAI-compatible server, with vLLM's flag names. */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Serve a model over an OpenAI-compatible HTTP API (vLLM's `vllm serve`).")
public final class ServeCommand implements Callable<Integer> {
    static final String DEFAULT_MODEL = "models/jlight-demo";

    @Option(names = "--model", defaultValue = DEFAULT_MODEL,
            description = "Hugging Face model folder (config.json, *.safetensors, tokenizer.json). Default: ${DEFAULT-VALUE}")
    Path model;

    @Option(names = "--host", defaultValue = "0.0.0.0", description = "Address to listen on. Default: ${DEFAULT-VALUE}")
    String host;

    @Option(names = "--port", defaultValue = "8000", description = "Port (0: any free one). Default: ${DEFAULT-VALUE}")
    int port;

    @Option(names = "--served-model-name", arity = "1..*",
            description = "Names the model answers to (the first is reported). Default: the --model argument.")
    List<String> servedModelName;

    @Option(names = "--max-model-len", description = "Prompt plus output tokens per sequence. Default: the config's max_position_embeddings.")
    Integer maxModelLen;

    @Option(names = "--max-num-seqs", defaultValue = "256", description = "Sequences in one batch. Default: ${DEFAULT-VALUE}")
    int maxNumSeqs;

    @Option(names = "--max-num-batched-tokens", description = "Token budget of one step. Default: max(2048, max-model-len).")
    Integer maxNumBatchedTokens;

    @Option(names = "--block-size", defaultValue = "16", description = "Tokens per KV cache block. Default: ${DEFAULT-VALUE}")
    int blockSize;

    @Option(names = "--enable-prefix-caching", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Reuse the KV blocks of shared prompt prefixes (--no-enable-prefix-caching turns it off). Default: on.")
    boolean enablePrefixCaching;

    @Option(names = "--gpu-memory-utilization", defaultValue = "0.9",
            description = "Fraction of the GPU's memory JLight may use (cuda). Default: ${DEFAULT-VALUE}")
    double gpuMemoryUtilization;

    @Option(names = "--kv-cache-memory", description = "KV cache size, e.g. 2GiB. Default: cpu min(4GiB, RAM/4, what "
            + "max-num-seqs full sequences need); cuda what the GPU has left after the weights, less 1GiB.")
    String kvCacheMemory;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu or cuda. Default: ${DEFAULT-VALUE}")
    String device;

    @Option(names = "--tensor-parallel-size", defaultValue = "1", description = "Only 1 is supported.")
    int tensorParallelSize;

    @Option(names = "--dtype", defaultValue = "auto",
            description = "auto (the weights' dtype); another dtype is accepted only if it is the weights' one.")
    String dtype;

    @Option(names = "--quantization", description = "No quantization method is supported yet.")
    String quantization;

    @Option(names = "--chat-template", description = "A chat template file, or the template itself. Default: the model's.")
    String chatTemplate;

    @Option(names = "--generation-config", defaultValue = "auto",
            description = "auto: sampling defaults from generation_config.json; vllm: vLLM's defaults. Default: ${DEFAULT-VALUE}")
    String generationConfig;

    @Option(names = "--api-key", description = "Require 'Authorization: Bearer <key>' (all routes but /health). "
            + "Default: the JLIGHT_API_KEY environment variable, else none.")
    String apiKey;

    @Option(names = "--load-format", defaultValue = "auto", description = "auto, safetensors or dummy. Default: ${DEFAULT-VALUE}")
    String loadFormat;

    @Option(names = "--threads", defaultValue = "0", description = "CPU threads (0: all cores). Default: ${DEFAULT-VALUE}")
    int threads;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of requests that bring none. Default: ${DEFAULT-VALUE}")
    long seed;

    @Option(names = "--max-request-body-bytes", defaultValue = "8MiB", description = "Larger bodies get 413. Default: ${DEFAULT-VALUE}")
    String maxRequestBodyBytes;

    @Option(names = "--max-n", defaultValue = "128", description = "Largest n per request. Default: ${DEFAULT-VALUE}")
    int maxN;

    @Option(names = "--max-tokens-cap", description = "Largest max_tokens / min_tokens per request. Default: max-model-len.")
    Integer maxTokensCap;

    @Option(names = "--max-stop-sequences", defaultValue = "32", description = "Most stop strings per request. Default: ${DEFAULT-VALUE}")
    int maxStopSequences;

    @Option(names = "--max-logprobs", defaultValue = "20", description = "Most top logprobs per token. Default: ${DEFAULT-VALUE}")
    int maxLogprobs;

    @Option(names = "--max-waiting-requests", defaultValue = "1024",
            description = "Sequences that may wait beyond max-num-seqs running; more get 503. Default: ${DEFAULT-VALUE}")
    int maxWaitingRequests;

    @Option(names = "--shutdown-timeout", defaultValue = "5",
            description = "Seconds running requests may finish after SIGTERM before they are aborted. Default: ${DEFAULT-VALUE}")
    double shutdownTimeout;

    private static final Logger LOG = LoggerFactory.getLogger(ServeCommand.class);

    /** Parses serve's flags (tests start servers this way); as with vLLM's argparse, a repeated flag's last value wins. */
    public static ServeCommand parse(String... args) {
        ServeCommand c = new ServeCommand();
        new CommandLine(c).setOverwrittenOptionsAllowed(true).parseArgs(args);
        return c;
    }

    public ServerRuntime.Options runtimeOptions() {
        Long kv = kvCacheMemory == null ? null : ByteSize.parse("--kv-cache-memory", kvCacheMemory);
        if (!generationConfig.equals("auto") && !generationConfig.equals("vllm")) {
            throw new JLightException("--generation-config '" + generationConfig + "' is not one of auto, vllm");
        }
        return new ServerRuntime.Options(model, ModelFolder.LoadFormat.parse(loadFormat),
                ServerRuntime.Device.parse(device), threads, maxModelLen, maxNumSeqs, maxNumBatchedTokens, blockSize,
                enablePrefixCaching, gpuMemoryUtilization, kv, dtype, quantization, tensorParallelSize, chatTemplate,
                generationConfig, seed);
    }

    public ServerOptions serverOptions() {
        String key = apiKey != null ? apiKey : System.getenv("JLIGHT_API_KEY");
        List<String> names = servedModelName != null && !servedModelName.isEmpty() ? servedModelName
                : List.of(model.toString());
        if (!(shutdownTimeout >= 0)) {
            throw new JLightException("--shutdown-timeout must be >= 0, got " + shutdownTimeout);
        }
        return new ServerOptions(host, port, names, key, ByteSize.parse("--max-request-body-bytes", maxRequestBodyBytes),
                maxN, maxTokensCap, maxStopSequences, maxLogprobs, maxWaitingRequests,
                Duration.ofMillis((long) (shutdownTimeout * 1000)));
    }

    /** Loads the model and starts listening; returns once the port is open. */
    public OpenAiServer start() {
        ServerOptions so = serverOptions();     // flag errors before loading anything
        ServerRuntime.Options ro = runtimeOptions();
        long t0 = System.nanoTime();
        LOG.info("loading {} on {}", ro.model(), ro.device().name().toLowerCase(java.util.Locale.ROOT));
        ServerRuntime runtime = ServerRuntime.load(ro, new ProgressBar(System.err, "loading " + ro.model().getFileName(),
                0));
        try {
            LOG.info("{}", runtime.summary());
            OpenAiServer server = OpenAiServer.start(runtime, so);
            LOG.info("ready in {} s: serving '{}' on {}{} (OpenAI API at {}/v1)",
                    String.format(java.util.Locale.ROOT, "%.1f", (System.nanoTime() - t0) / 1e9), so.modelName(),
                    server.url(), so.apiKey() == null ? "" : ", API key required", server.url());
            return server;
        } catch (RuntimeException e) {
            runtime.close();
            throw e;
        }
    }

    @Override
    public Integer call() throws InterruptedException {
        quietJetty();
        OpenAiServer server = start();
        Thread hook = Thread.ofPlatform().name("jlight-shutdown").unstarted(() -> {
            LOG.info("shutdown requested");
            server.shutdown();
        });
        Runtime.getRuntime().addShutdownHook(hook);
        server.awaitStopped();
        return 0;
    }

    /** Jetty's and DJL's INFO lines (and DJL's GPU probe) say nothing a user of the server needs. */
    private static void quietJetty() {
        for (String[] kv : new String[][] {{"org.eclipse.jetty", "warn"}, {"io.javalin", "warn"},
            {"ai.djl.util", "error"}}) {
            String key = "org.slf4j.simpleLogger.log." + kv[0];
            if (System.getProperty(key) == null) {
                System.setProperty(key, kv[1]);
            }
        }
    }
}
