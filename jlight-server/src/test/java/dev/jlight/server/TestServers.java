package dev.jlight.server;

import dev.jlight.server.cli.ServeCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Real servers on loopback with the demo model on the CPU backend. One shared server (small
 * caps, an API key) serves every test class that does not need its own configuration.
 */
final class TestServers {
    static final String KEY = "test-key";
    static final String MODEL = "jlight-demo";
    static final int MAX_MODEL_LEN = 256;
    static final int MAX_TOKENS_CAP = 128;
    static final int MAX_N = 4;
    static final int MAX_STOP = 4;
    static final int MAX_LOGPROBS = 5;
    static final int MAX_BODY = 65536;

    private static OpenAiServer shared;

    private TestServers() {
    }

    static Path repoRoot() {
        String root = System.getProperty("jlight.repo.root");
        if (root != null && Files.isDirectory(Path.of(root, "models", "jlight-demo"))) {
            return Path.of(root);
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("models").resolve("jlight-demo"))) {
                return p;
            }
        }
        throw new IllegalStateException("models/jlight-demo not found above " + Path.of("").toAbsolutePath());
    }

    /** The arguments of the shared server; a flag in {@code extra} replaces the default one. */
    static String[] args(String... extra) {
        List<String> defaults = List.of(
                "--model", repoRoot().resolve("models/jlight-demo").toString(),
                "--served-model-name", MODEL,
                "--host", "127.0.0.1", "--port", "0",
                "--max-model-len", String.valueOf(MAX_MODEL_LEN),
                "--kv-cache-memory", "96MiB",
                "--threads", "2",
                "--max-num-seqs", "64",
                "--api-key", KEY,
                "--max-n", String.valueOf(MAX_N),
                "--max-tokens-cap", String.valueOf(MAX_TOKENS_CAP),
                "--max-stop-sequences", String.valueOf(MAX_STOP),
                "--max-logprobs", String.valueOf(MAX_LOGPROBS),
                "--max-request-body-bytes", String.valueOf(MAX_BODY),
                "--shutdown-timeout", "1");
        List<String> given = List.of(extra);
        List<String> a = new ArrayList<>();
        for (int i = 0; i < defaults.size(); i += 2) {
            if (!given.contains(defaults.get(i))) {
                a.add(defaults.get(i));
                a.add(defaults.get(i + 1));
            }
        }
        a.addAll(given);
        return a.toArray(String[]::new);
    }

    static OpenAiServer start(String... extra) {
        return ServeCommand.parse(args(extra)).start();
    }

    /** The shared server, started on first use and stopped when the test JVM exits. */
    static synchronized OpenAiServer shared() {
        if (shared == null) {
            shared = start();
            OpenAiServer s = shared;
            Runtime.getRuntime().addShutdownHook(new Thread(s::shutdown));
        }
        return shared;
    }
}
