package dev.jlight.server.cli;

import dev.jlight.core.JLightException;
import dev.jlight.core.backend.Backend;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.backend.KvCacheSpec;
import dev.jlight.core.config.ModelConfig;
import dev.jlight.core.engine.Engine;
import dev.jlight.core.engine.EngineOptions;
import dev.jlight.core.engine.kv.BlockPool;
import dev.jlight.core.model.Model;
import dev.jlight.core.model.ModelFolder;
import dev.jlight.core.model.ModelLoader;
import dev.jlight.core.template.ChatTemplate;
import dev.jlight.core.template.TokenizerChatTemplate;
import dev.jlight.core.tokenizer.Tokenizer;
import dev.jlight.cpu.CpuBackend;
import dev.jlight.cuda.CudaBackend;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model folder loaded and running in this process: tokenizer, chat template, model on its
 * backend, KV cache sized from the budget, and the engine thread. What the CLI commands and the
 * server share.
 */
public final class LocalEngine implements AutoCloseable {
    private final ModelConfig config;
    private final Tokenizer tokenizer;
    private final TokenizerChatTemplate chatTemplate;
    private final Model model;
    private final KvCache kv;
    private final Engine engine;
    private final int maxModelLen;

    private LocalEngine(ModelConfig config, Tokenizer tokenizer, TokenizerChatTemplate chatTemplate, Model model,
                        KvCache kv, Engine engine, int maxModelLen) {
        this.config = config;
        this.tokenizer = tokenizer;
        this.chatTemplate = chatTemplate;
        this.model = model;
        this.kv = kv;
        this.engine = engine;
        this.maxModelLen = maxModelLen;
    }

    /** Loads everything; progress and the start-up summary go to {@code log}. */
    public static LocalEngine open(ModelOptions o, Path chatTemplateOverride, PrintStream log) {
        Path folder = o.modelPath();
        if (!Files.isDirectory(folder)) {
            throw new JLightException(folder + ": model folder does not exist");
        }
        ModelConfig config = ModelConfig.load(folder);
        ModelLoader.checkSupported(config);
        ModelFolder.LoadFormat format = ModelFolder.LoadFormat.parse(o.loadFormat);
        Tokenizer tokenizer = Tokenizer.load(folder);
        TokenizerChatTemplate template = chatTemplate(folder, tokenizer, chatTemplateOverride);
        Backend backend = backend(o);
        Model model = null;
        KvCache kv = null;
        try {
            ProgressBar bar = new ProgressBar(log, "loading " + folder.getFileName(), ModelFolder.weightBytes(folder, config, format));
            model = ModelFolder.load(folder, format, backend, bar);
            int maxModelLen = o.maxModelLen != null ? o.maxModelLen : config.maxPositionEmbeddings();
            if (maxModelLen <= 0) {
                throw new JLightException("--max-model-len must be positive, got " + maxModelLen);
            }
            if (config.slidingWindow() != null && maxModelLen > config.slidingWindow()) {
                log.printf("jlight: %s uses a sliding window of %d tokens; capping max model length from %d to it%n",
                        config.file(), config.slidingWindow(), maxModelLen);
                maxModelLen = config.slidingWindow();
            }
            int blocks = kvBlocks(o, model, backend, maxModelLen);
            kv = backend.allocateKvCache(model.kvCacheSpec(blocks, o.blockSize));
            EngineOptions eo = EngineOptions.defaults(maxModelLen).withMaxNumSeqs(o.maxNumSeqs)
                    .withMaxNumBatchedTokens(o.maxNumBatchedTokens).withPrefixCaching(o.enablePrefixCaching);
            Engine engine = Engine.start(model, kv, eo, tokenizer.specialTokens().eosIds(), tokenizer::newDecoder);
            log.printf("jlight: model %s (%s, %d layers, vocab %d), backend %s, KV cache %,d tokens (%d blocks of %d), max model length %d%n",
                    folder, config.modelType(), config.numLayers(), config.vocabSize(), backend.name(),
                    kv.spec().capacityTokens(), blocks, o.blockSize, maxModelLen);
            return new LocalEngine(config, tokenizer, template, model, kv, engine, maxModelLen);
        } catch (RuntimeException e) {
            if (kv != null) {
                kv.close();
            }
            if (model != null) {
                model.close();
            }
            backend.close();
            tokenizer.close();
            throw e;
        }
    }

    private static Backend backend(ModelOptions o) {
        return switch (o.device) {
            case "cpu" -> new CpuBackend(o.threadsOrAll());
            case "cuda" -> {
                CudaBackend.Availability a = CudaBackend.probe();
                if (!a.available()) {
                    throw new JLightException("--device cuda asked, but " + a.reason());
                }
                yield new CudaBackend(CudaBackend.Options.defaults().withGpuMemoryUtilization(o.gpuMemoryUtilization));
            }
            default -> throw new JLightException("--device '" + o.device + "' is not one of cpu, cuda");
        };
    }

    /**
     * KV blocks: the budget (CPU: --kv-cache-memory; CUDA: what the arena has left after the
     * weights), but no more than max-num-seqs full-length sequences need.
     */
    private static int kvBlocks(ModelOptions o, Model model, Backend backend, int maxModelLen) {
        KvCacheSpec one = model.kvCacheSpec(1, o.blockSize);
        long budget = backend instanceof CudaBackend cuda
                ? (long) (cuda.freeDeviceBytes() * 0.95)
                : ModelOptions.parseBytes(o.kvCacheMemory, "--kv-cache-memory");
        long byBudget = BlockPool.numBlocks(budget, one);
        long needed = (long) o.maxNumSeqs * ((maxModelLen + o.blockSize - 1) / o.blockSize);
        long blocks = Math.min(byBudget, needed);
        long perSeq = (maxModelLen + o.blockSize - 1) / o.blockSize;
        if (blocks < Math.min(perSeq, 1)) {
            throw new JLightException("KV cache budget " + budget + " bytes holds no block of " + one.bytesPerBlock() + " bytes");
        }
        return (int) Math.min(Integer.MAX_VALUE, Math.max(1, blocks));
    }

    private static TokenizerChatTemplate chatTemplate(Path folder, Tokenizer tokenizer, Path override) {
        String source;
        if (override != null) {
            try {
                source = Files.isRegularFile(override) ? Files.readString(override) : override.toString();
            } catch (java.io.IOException e) {
                throw new JLightException(override + ": cannot read chat template: " + e.getMessage());
            }
        } else {
            source = tokenizer.chatTemplate();
        }
        if (source == null) {
            return null;
        }
        Path configFile = folder.resolve("tokenizer_config.json");
        Map<String, Object> tokens = new LinkedHashMap<>();
        if (Files.isRegularFile(configFile)) {
            try {
                tokens.putAll(TokenizerChatTemplate.specialTokens(new com.fasterxml.jackson.databind.ObjectMapper().readTree(configFile.toFile())));
            } catch (java.io.IOException e) {
                throw new JLightException(configFile + ": cannot read: " + e.getMessage());
            }
        }
        return new TokenizerChatTemplate(ChatTemplate.compile(source), tokens);
    }

    public ModelConfig config() {
        return config;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** The chat template, or null when the model has none (chat endpoints then answer 400). */
    public TokenizerChatTemplate chatTemplate() {
        return chatTemplate;
    }

    public Engine engine() {
        return engine;
    }

    public Model model() {
        return model;
    }

    public int maxModelLen() {
        return maxModelLen;
    }

    @Override
    public void close() {
        engine.close();
        kv.close();
        Backend b = model.backend();
        model.close();
        b.close();
        tokenizer.close();
    }
}
