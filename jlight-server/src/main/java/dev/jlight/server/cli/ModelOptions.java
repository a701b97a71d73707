package dev.jlight.server.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Flags shared by every command that loads a model (names as vLLM's where they mean the same). */
public final class ModelOptions {
    /** The model shipped in the repository: the default everywhere. */
    public static final String DEMO_MODEL = "models/jlight-demo";

    @Option(names = "--model", description = "Hugging Face model folder. Default: the demo model shipped in the repo ("
            + DEMO_MODEL + ").")
    Path model;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu or cuda. Default: ${DEFAULT-VALUE}")
    String device;

    @Option(names = "--load-format", defaultValue = "auto", description = "auto, safetensors or dummy (random weights).")
    String loadFormat;

    @Option(names = "--threads", defaultValue = "0", description = "CPU backend threads (0 = all cores).")
    int threads;

    @Option(names = "--max-model-len", description = "Context length (prompt + output). Default: the model's max_position_embeddings.")
    Integer maxModelLen;

    @Option(names = "--block-size", defaultValue = "16", description = "Tokens per KV cache block. Default: ${DEFAULT-VALUE}")
    int blockSize;

    @Option(names = "--max-num-seqs", defaultValue = "256", description = "Most sequences in one step. Default: ${DEFAULT-VALUE}")
    int maxNumSeqs;

    @Option(names = "--max-num-batched-tokens", defaultValue = "2048", description = "Token budget of one step. Default: ${DEFAULT-VALUE}")
    int maxNumBatchedTokens;

    @Option(names = "--enable-prefix-caching", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Reuse KV blocks of shared prompt prefixes. Default: on.")
    boolean enablePrefixCaching;

    @Option(names = "--kv-cache-memory", defaultValue = "1GiB",
            description = "KV cache budget on the CPU backend (e.g. 512MiB, 4GiB). Default: ${DEFAULT-VALUE}")
    String kvCacheMemory;

    @Option(names = "--gpu-memory-utilization", defaultValue = "0.9",
            description = "Fraction of GPU memory JLight may use (cuda). Default: ${DEFAULT-VALUE}")
    double gpuMemoryUtilization;

    /** The model folder: the flag, else the demo model under the JLight home (the launcher sets jlight.home). */
    public Path modelPath() {
        if (model != null) {
            return model;
        }
        String home = System.getProperty("jlight.home");
        Path base = home != null ? Path.of(home) : Path.of("");
        Path demo = base.resolve(DEMO_MODEL);
        return Files.isDirectory(demo) ? demo : Path.of(DEMO_MODEL);
    }

    public int threadsOrAll() {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }

    /** Parses sizes like 512MiB, 4GiB, 2GB, 1000000 (bytes). */
    public static long parseBytes(String s, String flag) {
        String t = s.trim().toUpperCase(java.util.Locale.ROOT);
        long mult = 1;
        String[][] units = {{"GIB", "1073741824"}, {"MIB", "1048576"}, {"KIB", "1024"}, {"GB", "1000000000"},
                {"MB", "1000000"}, {"KB", "1000"}, {"G", "1073741824"}, {"M", "1048576"}, {"K", "1024"}, {"B", "1"}};
        for (String[] u : units) {
            if (t.endsWith(u[0])) {
                mult = Long.parseLong(u[1]);
                t = t.substring(0, t.length() - u[0].length()).trim();
                break;
            }
        }
        try {
            double v = Double.parseDouble(t);
            if (!(v > 0)) {
                throw new NumberFormatException();
            }
            return (long) (v * mult);
        } catch (NumberFormatException e) {
            throw new dev.jlight.core.JLightException(flag + " '" + s + "' is not a size such as 512MiB or 4GiB");
        }
    }
}
