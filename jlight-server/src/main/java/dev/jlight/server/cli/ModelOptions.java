package dev.jlight.server.cli;

import dev.jlight.core.JLightException;
import dev.jlight.core.config.ModelConfig;
import dev.jlight.core.engine.EngineOptions;
import dev.jlight.core.model.ModelFolder;
import dev.jlight.server.ByteSize;
import dev.jlight.server.ServerRuntime;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * Flags of every command that loads a model and runs the engine (serve, generate, chat, bench
 * throughput), named as vLLM's where they mean the same.
 */
public final class ModelOptions {
    /** The model shipped in the repository: the default everywhere. */
    public static final String DEMO_MODEL = "models/jlight-demo";

    @Option(names = "--model", defaultValue = DEMO_MODEL,
            description = "Hugging Face model folder (config.json, *.safetensors, tokenizer.json). Default: ${DEFAULT-VALUE}")
    Path model;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu or cuda. Default: ${DEFAULT-VALUE}")
    String device;

    @Option(names = "--load-format", defaultValue = "auto", description = "auto, safetensors or dummy. Default: ${DEFAULT-VALUE}")
    String loadFormat;

    @Option(names = "--threads", defaultValue = "0", description = "CPU threads (0: all cores). Default: ${DEFAULT-VALUE}")
    int threads;

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

    @Option(names = "--async-scheduling", negatable = true, fallbackValue = "true",
            description = "Overlap the host's scheduling and output work with the GPU's next step when the model "
                    + "launches asynchronously and samples on the device (--no-async-scheduling: one step at a time). "
                    + "Default: on, unless -Djlight.asyncScheduling=false.")
    Boolean asyncScheduling;

    @Option(names = "--gpu-memory-utilization", defaultValue = "0.9",
            description = "Fraction of the GPU's memory JLight may use (cuda). Default: ${DEFAULT-VALUE}")
    double gpuMemoryUtilization;

    @Option(names = "--kv-cache-memory", description = "KV cache size, e.g. 2GiB. Default: cpu min(4GiB, RAM/4, what "
            + "max-num-seqs full sequences need); cuda what the GPU has left after the weights, less 1GiB.")
    String kvCacheMemory;

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

    /** The runtime's options; {@code seed} seeds requests that bring none. */
    public ServerRuntime.Options runtimeOptions(long seed) {
        Long kv = kvCacheMemory == null ? null : ByteSize.parse("--kv-cache-memory", kvCacheMemory);
        if (!generationConfig.equals("auto") && !generationConfig.equals("vllm")) {
            throw new JLightException("--generation-config '" + generationConfig + "' is not one of auto, vllm");
        }
        return new ServerRuntime.Options(model, ModelFolder.LoadFormat.parse(loadFormat),
                ServerRuntime.Device.parse(device), threads, maxModelLen, maxNumSeqs, maxNumBatchedTokens, blockSize,
                enablePrefixCaching, gpuMemoryUtilization, kv, dtype, quantization, tensorParallelSize, chatTemplate,
                generationConfig, seed,
                asyncScheduling != null ? asyncScheduling : EngineOptions.defaultAsyncScheduling());
    }

    /** Loads the model with a progress bar on stderr (shown for large weights). */
    public ServerRuntime load() {
        return ServerRuntime.load(runtimeOptions(0), progressBar());
    }

    ProgressBar progressBar() {
        long total = 0;
        try {
            Path folder = ServerRuntime.resolveModel(model);
            total = ModelFolder.weightBytes(folder, ModelConfig.load(folder), ModelFolder.LoadFormat.parse(loadFormat));
        } catch (JLightException e) {
            // the load itself reports what is wrong; the bar just stays silent
        }
        return new ProgressBar(System.err, "loading " + model.getFileName(), total);
    }
}
