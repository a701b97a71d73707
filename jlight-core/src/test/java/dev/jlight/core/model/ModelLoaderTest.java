package dev.jlight.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jlight.core.JLightException;
import dev.jlight.core.config.ModelConfig;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ModelLoaderTest {
    @Test
    void supportedTypes() {
        assertEquals(List.of("llama", "minicpm", "mistral", "mixtral", "qwen2"), List.copyOf(ModelLoader.supportedTypes()));
    }

    @Test
    void unsupportedTypeListsTheSupportedOnes() throws Exception {
        ModelConfig c = ModelConfig.parse(Path.of("m/config.json"), new ObjectMapper().readTree("""
                {"model_type":"gpt2","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,
                "num_attention_heads":4,"vocab_size":100}"""));
        JLightException e = assertThrows(JLightException.class, () -> ModelLoader.checkSupported(c));
        assertTrue(e.getMessage().contains("m/config.json") && e.getMessage().contains("'gpt2'")
                && e.getMessage().contains("llama, minicpm, mistral, mixtral, qwen2"), e.getMessage());
    }
}
