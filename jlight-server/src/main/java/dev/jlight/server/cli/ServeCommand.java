package dev.jlight.server.cli;

import dev.jlight.core.JLightException;
import dev.jlight.server.ByteSize;
import dev.jlight.server.OpenAiServer;
import dev.jlight.server.ServerOptions;
import dev.jlight.server.ServerRuntime;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code jlight serve}: the OpenAI-compatible server, with vLLM's flag names. */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Serve a model over an OpenAI-compatible HTTP API (vLLM's `vllm serve`).")
public final class ServeCommand implements Callable<Integer> {
    @Mixin
    ModelOptions engine = new ModelOptions();

    @Option(names = "--host", defaultValue = "0.0.0.0", description = "Address to listen on. Default: ${DEFAULT-VALUE}")
    String host;

    @Option(names = "--port", defaultValue = "8000", description = "Port (0: any free one). Default: ${DEFAULT-VALUE}")
    int port;

    @Option(names = "--served-model-name", arity = "1..*",
            description = "Names the model answers to (the first is reported). Default: the --model argument.")
    List<String> servedModelName;

    @Option(names = "--api-key", description = "Require 'Authorization: Bearer <key>' (all routes but /health). "
            + "Default: the JLIGHT_API_KEY environment variable, else none.")
    String apiKey;

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
        return engine.runtimeOptions(seed);
    }

    public ServerOptions serverOptions() {
        String key = apiKey != null ? apiKey : System.getenv("JLIGHT_API_KEY");
        List<String> names = servedModelName != null && !servedModelName.isEmpty() ? servedModelName
                : List.of(engine.model.toString());
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
        ServerRuntime runtime = ServerRuntime.load(ro, engine.progressBar());
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
