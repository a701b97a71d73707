package dev.jlight.core.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jlight.core.weights.SafetensorsFile;
import dev.jlight.core.weights.WeightTensor;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * A tiny random model made by scripts/make_golden.py with HF transformers, and what transformers
 * computed for it: testdata/golden/models/NAME/{config.json, model.safetensors, expected.json,
 * expected.safetensors}.
 */
public record GoldenModel(String name, Path folder, List<Prompt> prompts) {

    /** One prompt: ids, the positions whose fp32 logits are stored, and HF's greedy continuation. */
    public record Prompt(int index, int[] ids, int[] logitPositions, int[] greedy, float[] logits, int vocab) {
        public float logit(int positionIndex, int token) {
            return logits[positionIndex * vocab + token];
        }
    }

    public static Path root() {
        return RepoPaths.testdata("golden", "models");
    }

    public static List<String> names() throws IOException {
        Path r = root();
        if (!Files.isDirectory(r)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(r)) {
            return s.filter(p -> Files.isRegularFile(p.resolve("expected.json"))).map(p -> p.getFileName().toString())
                    .sorted().toList();
        }
    }

    public static GoldenModel load(String name) throws IOException {
        Path folder = root().resolve(name);
        JsonNode expected = new ObjectMapper().readTree(folder.resolve("expected.json").toFile());
        List<Prompt> prompts = new ArrayList<>();
        try (SafetensorsFile logits = SafetensorsFile.open(folder.resolve("expected.safetensors"))) {
            int i = 0;
            for (JsonNode p : expected.get("prompts")) {
                WeightTensor t = logits.tensors().get("logits_" + i);
                float[] values = t.data().toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
                prompts.add(new Prompt(i, ints(p.get("ids")), ints(p.get("logits_positions")), ints(p.get("greedy")),
                        values, (int) t.shape()[1]));
                i++;
            }
        }
        return new GoldenModel(name, folder, prompts);
    }

    private static int[] ints(JsonNode arr) {
        int[] out = new int[arr.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = arr.get(i).asInt();
        }
        return out;
    }
}
