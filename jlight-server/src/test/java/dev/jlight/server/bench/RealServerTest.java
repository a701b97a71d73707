package dev.jlight.server.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jlight.server.OpenAiServer;
import dev.jlight.server.cli.ServeCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code jlight bench serve} against a real {@code jlight serve} of the demo model on the CPU. */
class RealServerTest {
    static Path repoRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("models").resolve("jlight-demo"))) {
                return p;
            }
        }
        throw new IllegalStateException("models/jlight-demo not found above " + Path.of("").toAbsolutePath());
    }

    @Test
    void eightPromptsAgainstTheDemoModel() throws Exception {
        Path demo = repoRoot().resolve("models/jlight-demo");
        OpenAiServer server = ServeCommand.parse("--model", demo.toString(), "--served-model-name", "jlight-demo",
                "--host", "127.0.0.1", "--port", "0", "--max-model-len", "256", "--kv-cache-memory", "64MiB",
                "--threads", "2", "--api-key", "bench-key", "--shutdown-timeout", "1").start();
        try {
            for (String endpoint : List.of("/v1/completions", "/v1/chat/completions", "ids")) {
                BenchServeCommand cmd = new BenchServeCommand();
                List<String> args = new java.util.ArrayList<>(List.of("--base-url", server.url(), "--model",
                        "jlight-demo", "--api-key", "bench-key", "--tokenizer", demo.toString(),
                        "--num-prompts", "8", "--random-input-len", "24", "--random-output-len", "8",
                        "--max-concurrency", "4", "--ignore-eos", "--seed", "1"));
                if (endpoint.equals("ids")) {
                    args.addAll(List.of("--endpoint", "/v1/completions", "--prompt-token-ids"));
                } else {
                    args.addAll(List.of("--endpoint", endpoint));
                }
                int rc = new CommandLine(cmd).execute(args.toArray(String[]::new));
                assertEquals(0, rc, endpoint);
                Map<String, Object> r = cmd.result;
                assertEquals(8, r.get("completed"), endpoint);
                assertEquals(0, r.get("failed"), endpoint);
                assertEquals(64L, r.get("total_output_tokens"), endpoint);   // ignore_eos: all 8 × 8 tokens
                assertTrue((Long) r.get("total_input_tokens") >= 8 * 20, endpoint + " " + r.get("total_input_tokens"));
                if (endpoint.equals("ids")) {
                    assertEquals(8L * 24, r.get("total_input_tokens"));     // token ids: exact lengths
                }
                assertTrue((Double) r.get("mean_ttft_ms") > 0, endpoint);
                assertTrue((Double) r.get("mean_tpot_ms") > 0, endpoint);
                assertTrue((Double) r.get("output_throughput") > 0, endpoint);
            }
        } finally {
            server.shutdown();
        }
    }
}
