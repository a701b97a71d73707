package dev.jlight.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jlight.core.JLightException;
import dev.jlight.core.backend.Backend;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.backend.KvCacheSpec;
import dev.jlight.core.config.ModelConfig;
import dev.jlight.core.engine.Engine;
import dev.jlight.core.engine.EngineOptions;
import dev.jlight.core.engine.ProfileRun;
import dev.jlight.core.engine.kv.BlockPool;
import dev.jlight.core.model.LoadProgress;
import dev.jlight.core.model.Model;
import dev.jlight.core.model.ModelFolder;
import dev.jlight.core.model.ModelLoader;
import dev.jlight.core.template.ChatTemplate;
import dev.jlight.core.template.TemplateException;
import dev.jlight.core.template.TokenizerChatTemplate;
import dev.jlight.core.tokenizer.Tokenizer;
import dev.jlight.core.weights.DType;
import dev.jlight.cpu.CpuBackend;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything a serving process loads, in order, with the checks vLLM makes before it starts:
 * the tokenizer, the model on its backend, the paged KV cache sized from a memory budget, the
 * chat template and the running {@link Engine}. Closing it aborts what runs and frees it all.
 */
public final class ServerRuntime implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ServerRuntime.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** vLLM's default CPU KV cache space (VLLM_CPU_KVCACHE_SPACE). */
    static final long DEFAULT_CPU_KV_BYTES = 4L << 30;
    /** Left free on the GPU after the KV cache for step buffers and logits. */
    static final long GPU_KV_HEADROOM_BYTES = 1L << 30;

    public enum Device {
        CPU, CUDA;

        public static Device parse(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException | NullPointerException e) {
                throw new JLightException("--device '" + s + "' is not one of cpu, cuda");
            }
        }
    }

    /**
     * What to load and how (vLLM flag names in the comments of ServeCommand).
     *
     * @param maxModelLen          null: the config's max_position_embeddings
     * @param maxNumBatchedTokens  null: max(2048, max_model_len)
     * @param kvCacheMemoryBytes   null: CPU min(4 GiB, a quarter of RAM, what max_num_seqs full sequences need);
     *                             CUDA what the arena has left less 1 GiB
     * @param chatTemplate         a file, or the template itself; null: the model folder's
     * @param generationConfig     "auto": defaults from generation_config.json; "vllm": vLLM's own defaults
     * @param asyncScheduling      overlap host work with the device's next step (EngineOptions.asyncScheduling)
     */
    public record Options(Path model, ModelFolder.LoadFormat loadFormat, Device device, int threads, Integer maxModelLen,
                          int maxNumSeqs, Integer maxNumBatchedTokens, int blockSize, boolean enablePrefixCaching,
                          double gpuMemoryUtilization, Long kvCacheMemoryBytes, String dtype, String quantization,
                          int tensorParallelSize, String chatTemplate, String generationConfig, long seed,
                          boolean asyncScheduling) {
    }

    /** Sampling defaults a model folder's generation_config.json sets (null: not set). */
    public record GenerationDefaults(Double temperature, Double topP, Integer topK, Double minP,
                                     Double repetitionPenalty) {
        public static final GenerationDefaults NONE = new GenerationDefaults(null, null, null, null, null);
    }

    private final Options options;
    private final Path folder;
    private final Tokenizer tokenizer;
    private final ModelConfig config;
    private final Backend backend;
    private final String backendDescription;
    private final Model model;
    private final KvCache kvCache;
    private final Engine engine;
    private final int maxModelLen;
    private final TokenizerChatTemplate chatTemplate;
    private final String chatTemplateSource;
    private final GenerationDefaults generationDefaults;
    private final Set<Integer> eosIds;

    private ServerRuntime(Options options, Path folder, Tokenizer tokenizer, ModelConfig config, Backend backend,
                          String backendDescription, Model model, KvCache kvCache, Engine engine, int maxModelLen,
                          TokenizerChatTemplate chatTemplate, String chatTemplateSource,
                          GenerationDefaults generationDefaults, Set<Integer> eosIds) {
        this.options = options;
        this.folder = folder;
        this.tokenizer = tokenizer;
        this.config = config;
        this.backend = backend;
        this.backendDescription = backendDescription;
        this.model = model;
        this.kvCache = kvCache;
        this.engine = engine;
        this.maxModelLen = maxModelLen;
        this.chatTemplate = chatTemplate;
        this.chatTemplateSource = chatTemplateSource;
        this.generationDefaults = generationDefaults;
        this.eosIds = eosIds;
    }

    /**
     * A relative model path is taken from the working directory, else from the JLight home
     * (system property {@code jlight.home}, set by the ./jlight launcher), where the demo model lives.
     */
    public static Path resolveModel(Path model) {
        if (Files.exists(model)) {
            return model.toAbsolutePath().normalize();
        }
        if (model.isAbsolute()) {
            throw new JLightException("--model " + model + ": no such model folder");
        }
        String home = System.getProperty("jlight.home");
        if (home != null && Files.exists(Path.of(home).resolve(model))) {
            return Path.of(home).resolve(model).toAbsolutePath().normalize();
        }
        throw new JLightException("--model " + model + ": no such model folder (looked in "
                + Path.of("").toAbsolutePath() + (home == null ? "" : " and " + home) + ")");
    }

    /** Loads everything; on failure closes what was opened and throws a JLightException that says why. */
    public static ServerRuntime load(Options o, LoadProgress progress) {
        checkUnsupported(o);
        Path folder = resolveModel(o.model());
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            Tokenizer tokenizer = Tokenizer.load(folder);
            opened.add(tokenizer);
            ModelConfig config = ModelConfig.load(folder);
            ModelLoader.checkSupported(config);
            if (config.raw() != null && config.raw().hasNonNull("quantization_config")) {
                throw new JLightException(folder.resolve("config.json") + ": quantized checkpoints ("
                        + config.raw().get("quantization_config").path("quant_method").asText("quantization_config")
                        + ") are not supported yet");
            }
            checkDType(o.dtype(), config);
            int maxModelLen = resolveMaxModelLen(o.maxModelLen(), config);
            if (o.blockSize() < 1 || o.blockSize() > 1024) {
                throw new JLightException("--block-size must be in [1, 1024], got " + o.blockSize());
            }
            TokenizerChatTemplate template = null;
            String templateSource = loadTemplateSource(o.chatTemplate(), tokenizer);
            if (templateSource != null) {
                try {
                    template = new TokenizerChatTemplate(ChatTemplate.compile(templateSource), templateTokens(folder));
                } catch (TemplateException e) {
                    throw new JLightException("chat template" + (o.chatTemplate() == null ? " of " + folder
                            : " " + abbreviate(o.chatTemplate())) + " does not compile: " + e.getMessage(), e);
                }
            }
            GenerationDefaults defaults = "vllm".equals(o.generationConfig()) ? GenerationDefaults.NONE
                    : readGenerationDefaults(folder);

            Backend backend;
            String backendDescription;
            if (o.device() == Device.CUDA) {
                backend = CudaSupport.open(o.gpuMemoryUtilization());
                opened.add(backend);
                backendDescription = "cuda: " + CudaSupport.describe(backend);
            } else {
                int threads = o.threads() > 0 ? o.threads() : Runtime.getRuntime().availableProcessors();
                backend = new CpuBackend(threads);
                opened.add(backend);
                backendDescription = "cpu (" + threads + " threads)";
            }
            Model model = ModelFolder.load(folder, o.loadFormat(), backend, progress);
            opened.add(model);

            int batched = o.maxNumBatchedTokens() != null ? o.maxNumBatchedTokens()
                    : Math.max(EngineOptions.DEFAULT_MAX_NUM_BATCHED_TOKENS, maxModelLen);
            if (o.maxNumSeqs() < 1) {
                throw new JLightException("--max-num-seqs must be >= 1, got " + o.maxNumSeqs());
            }
            if (batched < 1) {
                throw new JLightException("--max-num-batched-tokens must be >= 1, got " + batched);
            }
            if (o.device() == Device.CUDA) {
                // the largest step's buffers first, so that the KV cache gets only what is left
                ProfileRun.run(model, batched, o.maxNumSeqs(), o.blockSize());
            }
            KvCacheSpec one = model.kvCacheSpec(1, o.blockSize());
            long budget = kvBudget(o, backend, one, maxModelLen);
            int numBlocks = BlockPool.numBlocks(budget, one);
            int needed = (maxModelLen + o.blockSize() - 1) / o.blockSize();
            if (numBlocks < needed) {
                throw new JLightException("the KV cache budget of " + ByteSize.format(budget) + " holds "
                        + (long) numBlocks * o.blockSize() + " tokens, fewer than one sequence of --max-model-len "
                        + maxModelLen + " needs (" + ByteSize.format(needed * one.bytesPerBlock())
                        + "): raise --kv-cache-memory" + (o.device() == Device.CUDA ? " or --gpu-memory-utilization" : "")
                        + " or lower --max-model-len");
            }
            KvCache kv = backend.allocateKvCache(model.kvCacheSpec(numBlocks, o.blockSize()));
            opened.add(kv);

            Set<Integer> eos = new LinkedHashSet<>(tokenizer.specialTokens().eosIds());
            if (eos.isEmpty() && config.eosTokenIds() != null) {
                eos.addAll(config.eosTokenIds());
            }
            EngineOptions eo = new EngineOptions(maxModelLen, batched, o.maxNumSeqs(), o.enablePrefixCaching(),
                    o.seed(), null, o.asyncScheduling());
            Model stepper = model;
            if (o.device() == Device.CUDA) {
                stepper = CudaSupport.graphed(model, kv, maxModelLen);
                opened.add(stepper);          // closes the graphs only; the model is closed by its own entry
            }
            Engine engine = Engine.start(stepper, kv, eo, eos, tokenizer::newDecoder);
            return new ServerRuntime(o, folder, tokenizer, config, backend, backendDescription, model, kv, engine,
                    maxModelLen, template, templateSource, defaults, Set.copyOf(eos));
        } catch (RuntimeException | Error e) {
            for (AutoCloseable c : opened.reversed()) {
                closeQuietly(c);
            }
            throw e;
        }
    }

    private static void checkUnsupported(Options o) {
        if (o.tensorParallelSize() != 1) {
            throw new JLightException("--tensor-parallel-size " + o.tensorParallelSize()
                    + " is not supported yet: JLight runs a model on one device (use 1)");
        }
        String q = o.quantization();
        if (q != null && !q.isBlank() && !q.equalsIgnoreCase("none")) {
            throw new JLightException("--quantization " + q + " is not supported yet: JLight runs unquantized "
                    + "bf16/f16/f32 weights (leave --quantization out)");
        }
        if (!(o.gpuMemoryUtilization() > 0 && o.gpuMemoryUtilization() <= 1)) {
            throw new JLightException("--gpu-memory-utilization must be in (0, 1], got " + o.gpuMemoryUtilization());
        }
        if (o.kvCacheMemoryBytes() != null && o.kvCacheMemoryBytes() <= 0) {
            throw new JLightException("--kv-cache-memory must be positive, got " + o.kvCacheMemoryBytes());
        }
    }

    /** --dtype: "auto" or the dtype the weights are stored in (no conversion is done yet). */
    private static void checkDType(String dtype, ModelConfig config) {
        if (dtype == null || dtype.equalsIgnoreCase("auto")) {
            return;
        }
        DType asked = switch (dtype.toLowerCase(Locale.ROOT)) {
            case "bfloat16", "bf16" -> DType.BF16;
            case "float16", "half", "fp16", "f16" -> DType.F16;
            case "float32", "float", "fp32", "f32" -> DType.F32;
            default -> throw new JLightException("--dtype '" + dtype
                    + "' is not one of auto, bfloat16, float16, half, float32, float");
        };
        DType stored = ModelFolder.configDType(config);
        if (asked != stored) {
            throw new JLightException("--dtype " + dtype + " is not supported for this model yet: JLight computes "
                    + "in the dtype the weights are stored in (" + stored.name().toLowerCase(Locale.ROOT)
                    + "); use --dtype auto");
        }
    }

    static int resolveMaxModelLen(Integer asked, ModelConfig config) {
        // sliding-window layers run as full attention, which is exact only up to the window
        int limit = config.fullAttentionLength();
        boolean windowed = limit < config.maxPositionEmbeddings();
        if (asked == null) {
            if (windowed) {
                LOG.warn("{}: layers {} use a sliding window of {} tokens; JLight runs full attention, so the "
                        + "context is capped at {} (max_position_embeddings is {})", config.file(),
                        config.slidingWindows().layers(), limit, limit, config.maxPositionEmbeddings());
            }
            return limit;
        }
        if (asked < 2) {
            throw new JLightException("--max-model-len must be >= 2, got " + asked);
        }
        if (limit > 0 && asked > limit) {
            throw new JLightException("--max-model-len " + asked + " is more than " + (windowed
                    ? "the sliding window " + limit + " of layers " + config.slidingWindows().layers()
                    + " (config.json; sliding-window attention is not implemented, full attention equals it only "
                    + "up to the window)"
                    : "the model's max_position_embeddings " + limit + " (config.json)"));
        }
        return asked;
    }

    private static long kvBudget(Options o, Backend backend, KvCacheSpec one, int maxModelLen) {
        if (o.kvCacheMemoryBytes() != null) {
            return o.kvCacheMemoryBytes();
        }
        if (o.device() == Device.CUDA) {
            long free = CudaSupport.freeDeviceBytes(backend);
            return Math.max(0, free - Math.min(GPU_KV_HEADROOM_BYTES, free / 4));
        }
        long blocksForAll = (long) o.maxNumSeqs() * ((maxModelLen + o.blockSize() - 1) / o.blockSize());
        long need = blocksForAll * one.bytesPerBlock();
        long quarterRam = Long.MAX_VALUE;
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            quarterRam = os.getTotalMemorySize() / 4;
        }
        return Math.min(DEFAULT_CPU_KV_BYTES, Math.min(need, quarterRam));
    }

    /** --chat-template: a file if one exists at that path, else the template text itself (if it looks like Jinja). */
    private static String loadTemplateSource(String option, Tokenizer tokenizer) {
        if (option == null || option.isEmpty()) {
            return tokenizer.chatTemplate();
        }
        Path p;
        try {
            p = Path.of(option);
        } catch (RuntimeException e) {
            p = null;
        }
        if (p != null && Files.isRegularFile(p)) {
            try {
                return Files.readString(p);
            } catch (IOException e) {
                throw new JLightException("--chat-template " + option + ": cannot read: " + e.getMessage(), e);
            }
        }
        if (option.contains("{{") || option.contains("{%")) {
            return option;
        }
        throw new JLightException("--chat-template " + option + ": no such file (and not an inline Jinja template)");
    }

    /** bos_token, eos_token, ... as the template sees them (tokenizer_config.json); empty if the file is absent. */
    private static Map<String, Object> templateTokens(Path folder) {
        Path tc = folder.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(tc)) {
            return Map.of();
        }
        try {
            return TokenizerChatTemplate.specialTokens(JSON.readTree(tc.toFile()));
        } catch (IOException e) {
            throw new JLightException(tc + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** vLLM's --generation-config auto: temperature, top_p, top_k, min_p, repetition_penalty of generation_config.json. */
    static GenerationDefaults readGenerationDefaults(Path folder) {
        Path gc = folder.resolve("generation_config.json");
        if (!Files.isRegularFile(gc)) {
            return GenerationDefaults.NONE;
        }
        JsonNode n;
        try {
            n = JSON.readTree(gc.toFile());
        } catch (IOException e) {
            throw new JLightException(gc + ": cannot read: " + e.getMessage(), e);
        }
        return new GenerationDefaults(num(n, "temperature"), num(n, "top_p"),
                n.path("top_k").isNumber() ? n.get("top_k").intValue() : null, num(n, "min_p"),
                num(n, "repetition_penalty"));
    }

    private static Double num(JsonNode n, String field) {
        return n.path(field).isNumber() ? n.get(field).doubleValue() : null;
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            LOG.warn("closing {} failed: {}", c, e.toString());
        }
    }

    /** The architecture as config.json names it (e.g. "Qwen2ForCausalLM"), else its model_type. */
    public String architecture() {
        return config.architectures() == null || config.architectures().isEmpty() ? config.modelType()
                : String.join(",", config.architectures());
    }

    public String modelType() {
        return config.modelType();
    }

    /** One line for the start-up log. */
    public String summary() {
        KvCacheSpec spec = kvCache.spec();
        return String.format(Locale.ROOT,
                "model %s (%s, model_type %s, %d layers, hidden %d, vocab %d), backend %s, KV cache %d blocks of %d = %,d tokens "
                        + "(%s, %s), max_model_len %d, max_num_seqs %d, prefix caching %s, async scheduling %s",
                folder, architecture(), config.modelType(), config.numLayers(), config.hiddenSize(), config.vocabSize(), backendDescription,
                spec.numBlocks(), spec.blockSize(), spec.capacityTokens(), ByteSize.format(spec.totalBytes()),
                spec.dtype().name().toLowerCase(Locale.ROOT), maxModelLen, options.maxNumSeqs(),
                options.enablePrefixCaching() ? "on" : "off", options.asyncScheduling() ? "on" : "off");
    }

    public Options options() {
        return options;
    }

    public Path folder() {
        return folder;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public ModelConfig config() {
        return config;
    }

    public Model model() {
        return model;
    }

    public Engine engine() {
        return engine;
    }

    public int maxModelLen() {
        return maxModelLen;
    }

    /** Tokens the whole KV cache holds. */
    public long kvCapacityTokens() {
        return kvCache.spec().capacityTokens();
    }

    public KvCacheSpec kvCacheSpec() {
        return kvCache.spec();
    }

    public String backendDescription() {
        return backendDescription;
    }

    /** The chat template with its special tokens, or null when the model has none and none was given. */
    public TokenizerChatTemplate chatTemplate() {
        return chatTemplate;
    }

    public String chatTemplateSource() {
        return chatTemplateSource;
    }

    public GenerationDefaults generationDefaults() {
        return generationDefaults;
    }

    public Set<Integer> eosIds() {
        return eosIds;
    }

    /** Aborts every live request, stops the engine, then frees the KV cache, the model, the backend and the tokenizer. */
    @Override
    public void close() {
        engine.close();
        closeQuietly(kvCache);
        closeQuietly(model);
        closeQuietly(backend);
        closeQuietly(tokenizer);
    }
}
