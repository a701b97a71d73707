package dev.jlight.server.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jlight.core.engine.EngineRequest;
import dev.jlight.core.engine.RequestOutput;
import dev.jlight.core.engine.SamplingParams;
import dev.jlight.core.testing.RepoPaths;
import dev.jlight.server.ServerRuntime;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The shipped demo model through the whole local stack (tokenizer, chat template, engine, CPU
 * backend) reproduces HF transformers' greedy continuations exactly
 * (testdata/golden/demo/demo_golden.json, written by scripts/train_demo_model.py on the device).
 */
class DemoModelGoldenTest {
    private static ServerRuntime local;

    @BeforeAll
    static void load() {
        ModelOptions o = new ModelOptions();
        new CommandLine(o).parseArgs("--model", RepoPaths.root().resolve(ModelOptions.DEMO_MODEL).toString(),
                "--max-model-len", "128", "--kv-cache-memory", "32MiB", "--threads", "2");
        local = o.load();
    }

    @AfterAll
    static void close() {
        local.close();
    }

    @Test
    void greedyContinuationsMatchTransformers() throws IOException {
        JsonNode golden = new ObjectMapper().readTree(RepoPaths.testdata("golden", "demo", "demo_golden.json").toFile());
        int checked = 0;
        for (JsonNode p : golden.get("prompts")) {
            int[] want = ints(p.get("prompt_ids"));
            int[] ids;
            if (p.get("messages").isNull()) {
                ids = local.tokenizer().encode(p.get("prompt").asText(), true);
            } else {
                List<Map<String, Object>> messages = new ArrayList<>();
                for (JsonNode m : p.get("messages")) {
                    messages.add(Map.of("role", m.get("role").asText(), "content", m.get("content").asText()));
                }
                ids = ChatCommand.encodeChat(local, messages);
            }
            assertArrayEquals(want, ids, "prompt ids of " + p.get("prompt"));
            int[] expected = ints(p.get("generated_ids"));
            SamplingParams greedy = SamplingParams.builder().temperature(0).maxTokens(expected.length).ignoreEos(true)
                    .skipSpecialTokens(false).build();
            List<Integer> got = new ArrayList<>();
            StringBuilder text = new StringBuilder();
            for (RequestOutput o : local.engine().generate(new EngineRequest("demo-" + checked, ids, greedy))) {
                o.choices().forEach(d -> {
                    for (int t : d.tokenIds()) {
                        got.add(t);
                    }
                    text.append(d.text());
                });
            }
            assertArrayEquals(expected, got.stream().mapToInt(Integer::intValue).toArray(),
                    "greedy continuation of " + p.get("prompt") + " (HF: " + p.get("generated_text") + ", JLight: " + text + ")");
            assertEquals(p.get("generated_text").asText(), text.toString(), "streamed text of " + p.get("prompt"));
            checked++;
        }
        assertEquals(5, checked);
    }

    private static int[] ints(JsonNode arr) {
        int[] out = new int[arr.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = arr.get(i).asInt();
        }
        return out;
    }
}
