package dev.jlight.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jlight.core.JLightException;
import dev.jlight.core.config.ModelConfig;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** --max-model-len against max_position_embeddings and sliding windows (run as full attention). */
class MaxModelLenTest {
    private static ModelConfig config(String extra) throws Exception {
        return ModelConfig.parse(Path.of("m/config.json"), new ObjectMapper().readTree("""
                {"model_type":"qwen2","hidden_size":64,"intermediate_size":128,"num_hidden_layers":4,
                "num_attention_heads":4,"vocab_size":100,"max_position_embeddings":32768%s}""".formatted(extra)));
    }

    @Test
    void defaultIsMaxPositionsWithoutWindow() throws Exception {
        assertEquals(32768, ServerRuntime.resolveMaxModelLen(null, config(",\"sliding_window\":4096")));
        assertEquals(1000, ServerRuntime.resolveMaxModelLen(1000, config("")));
    }

    @Test
    void windowCapsTheContext() throws Exception {
        ModelConfig c = config(",\"sliding_window\":4096,\"use_sliding_window\":true,\"max_window_layers\":1");
        assertEquals(4096, ServerRuntime.resolveMaxModelLen(null, c));
        assertEquals(4000, ServerRuntime.resolveMaxModelLen(4000, c));
        JLightException e = assertThrows(JLightException.class, () -> ServerRuntime.resolveMaxModelLen(8192, c));
        assertTrue(e.getMessage().contains("sliding window 4096") && e.getMessage().contains("[1, 2, 3]"), e.getMessage());
    }
}
