package dev.jlight.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jlight.core.JLightException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Qwen2 sliding-window fields, MiniCPM scalings and Mixtral's expert settings, and their errors. */
class ArchitectureConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ModelConfig parse(String type, String extra) throws Exception {
        return ModelConfig.parse(Path.of("m/config.json"), JSON.readTree("""
                {"model_type":"%s","hidden_size":64,"intermediate_size":128,"num_hidden_layers":4,
                "num_attention_heads":4,"vocab_size":100,"max_position_embeddings":32768%s}"""
                .formatted(type, extra.isEmpty() ? "" : "," + extra)));
    }

    /** Parsing the config and reading its architecture settings fails with a message naming the file and parts. */
    private static void assertError(String type, String extra, String... parts) {
        JLightException e = assertThrows(JLightException.class, () -> {
            ModelConfig c = parse(type, extra);
            switch (type) {
                case "mixtral" -> MoeSpec.mixtral(c);
                case "minicpm" -> MiniCpmScaling.of(c);
                default -> { }
            }
        });
        assertTrue(e.getMessage().startsWith("m/config.json"), e.getMessage());
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), e.getMessage());
        }
    }

    // ---- sliding windows ------------------------------------------------------------------------

    @Test
    void qwen25ConfigHasNoWindow() throws Exception {
        // Qwen2.5-7B-Instruct's fields: window fields present but off
        ModelConfig c = parse("qwen2", "\"sliding_window\":131072,\"use_sliding_window\":false,\"max_window_layers\":28");
        assertTrue(c.slidingWindows().isNone());
        assertEquals(32768, c.fullAttentionLength());
    }

    @Test
    void qwen2WindowOnAppliesFromMaxWindowLayers() throws Exception {
        ModelConfig c = parse("qwen2", "\"sliding_window\":4096,\"use_sliding_window\":true,\"max_window_layers\":2");
        assertEquals(List.of(2, 3), c.slidingWindows().layers());
        assertEquals(4096, c.fullAttentionLength(), "context capped at the window");
    }

    @Test
    void qwen2WindowDefaultsOff() throws Exception {
        assertTrue(parse("qwen2", "\"sliding_window\":4096").slidingWindows().isNone());
    }

    @Test
    void windowLongerThanTheContextChangesNothing() throws Exception {
        ModelConfig c = parse("qwen2", "\"sliding_window\":65536,\"use_sliding_window\":true,\"max_window_layers\":0");
        assertEquals(List.of(0, 1, 2, 3), c.slidingWindows().layers());
        assertEquals(32768, c.fullAttentionLength());
    }

    @Test
    void mistralWindowCoversEveryLayer() throws Exception {
        ModelConfig c = parse("mistral", "\"sliding_window\":4096");
        assertEquals(List.of(0, 1, 2, 3), c.slidingWindows().layers());
        assertEquals(4096, c.fullAttentionLength());
    }

    @Test
    void transformers5LayerTypes() throws Exception {
        ModelConfig c = parse("qwen2", """
                "sliding_window":1024,"layer_types":["full_attention","sliding_attention","full_attention","sliding_attention"]""");
        assertEquals(List.of(1, 3), c.slidingWindows().layers());
        assertEquals(1024, c.fullAttentionLength());
        assertTrue(parse("qwen2", "\"sliding_window\":null,\"layer_types\":[\"full_attention\",\"full_attention\","
                + "\"full_attention\",\"full_attention\"]").slidingWindows().isNone());
    }

    @Test
    void badWindowFieldsAreErrors() {
        assertError("qwen2", "\"layer_types\":[\"full_attention\"]", "layer_types", "4 entries");
        assertError("qwen2", "\"layer_types\":[\"full_attention\",\"chunked\",\"full_attention\",\"full_attention\"]",
                "layer_types[1]", "chunked");
        assertError("qwen2", "\"layer_types\":[\"sliding_attention\",\"full_attention\",\"full_attention\","
                + "\"full_attention\"]", "sliding_window", "missing");
        assertError("qwen2", "\"sliding_window\":-5", "sliding_window");
    }

    // ---- MiniCPM --------------------------------------------------------------------------------

    @Test
    void miniCpmScalings() throws Exception {
        MiniCpmScaling s = MiniCpmScaling.of(parse("minicpm", "\"scale_emb\":12,\"scale_depth\":1.4,\"dim_model_base\":16"));
        assertEquals(12.0, s.embedding());
        assertEquals(1.4 / 2.0, s.residual(), 1e-12, "scale_depth / sqrt(4 layers)");
        assertEquals(16.0 / 64.0, s.logits(), 1e-12, "1 / (hidden_size / dim_model_base)");
    }

    @Test
    void miniCpmDefaultsAreIdentityButDepth() throws Exception {
        MiniCpmScaling s = MiniCpmScaling.of(parse("minicpm", ""));
        assertEquals(1.0, s.embedding());
        assertEquals(0.5, s.residual(), 1e-12, "scale_depth 1 / sqrt(4)");
        assertEquals(1.0 / 64, s.logits(), 1e-12);
    }

    @Test
    void miniCpmErrors() {
        assertError("minicpm", "\"scale_emb\":0", "scale_emb", "positive");
        assertError("minicpm", "\"scale_depth\":\"big\"", "scale_depth");
        assertError("minicpm", "\"num_experts\":8", "num_experts", "not supported");
    }

    // ---- Mixtral --------------------------------------------------------------------------------

    @Test
    void mixtralExperts() throws Exception {
        MoeSpec s = MoeSpec.mixtral(parse("mixtral", "\"num_local_experts\":8,\"num_experts_per_tok\":2"));
        assertEquals(new MoeSpec(8, 2, true), s);
        assertFalse(parse("mixtral", "\"num_local_experts\":8,\"num_experts_per_tok\":2").slidingWindows().layers()
                .contains(0));
    }

    @Test
    void benchmarkShapesParse() {
        Path shapes = dev.jlight.core.testing.RepoPaths.root().resolve("models/shapes");
        ModelConfig qwen = ModelConfig.load(shapes.resolve("qwen2.5-7b"));
        assertEquals(128, qwen.headDim());
        assertEquals(32768, qwen.fullAttentionLength());
        ModelConfig mixtral = ModelConfig.load(shapes.resolve("mixtral-8x7b-2layers"));
        assertEquals(2, mixtral.numLayers());
        assertEquals(new MoeSpec(8, 2, true), MoeSpec.mixtral(mixtral));
    }

    @Test
    void mixtralErrors() {
        assertError("mixtral", "\"num_experts_per_tok\":2", "num_local_experts", "missing");
        assertError("mixtral", "\"num_local_experts\":8", "num_experts_per_tok", "missing");
        assertError("mixtral", "\"num_local_experts\":2,\"num_experts_per_tok\":3", "num_experts_per_tok", "more than");
        assertError("mixtral", "\"num_local_experts\":0,\"num_experts_per_tok\":1", "num_local_experts", "positive");
    }
}
