package dev.jlight.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jlight.core.JLightException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ModelConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ModelConfig parse(String json) throws Exception {
        return ModelConfig.parse(Path.of("config.json"), JSON.readTree(json));
    }

    private static final String BASE = """
            "model_type":"llama","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,
            "num_attention_heads":4,"vocab_size":100""";

    @Test
    void transformers4Style() throws Exception {
        ModelConfig c = parse("{" + BASE + """
                ,"num_key_value_heads":2,"rope_theta":500000.0,"torch_dtype":"bfloat16",
                "rope_scaling":{"rope_type":"llama3","factor":32.0,"low_freq_factor":1.0,"high_freq_factor":4.0,
                "original_max_position_embeddings":8192},"eos_token_id":[1,2],"tie_word_embeddings":true}""");
        assertEquals(16, c.headDim());
        assertEquals(2, c.numKvHeads());
        assertEquals(500000.0, c.ropeTheta());
        assertEquals("llama3", c.ropeScaling().type());
        assertEquals("bfloat16", c.dtype());
        assertEquals(java.util.List.of(1, 2), c.eosTokenIds());
        assertTrue(c.tieWordEmbeddings());
    }

    @Test
    void transformers5Style() throws Exception {
        ModelConfig c = parse("{" + BASE + """
                ,"dtype":"bfloat16","rope_parameters":{"rope_type":"llama3","rope_theta":500000.0,"factor":8.0,
                "low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192},"eos_token_id":7}""");
        assertEquals(500000.0, c.ropeTheta());
        assertEquals(8.0, c.ropeScaling().factor());
        assertEquals("bfloat16", c.dtype());
        assertEquals(java.util.List.of(7), c.eosTokenIds());
        assertEquals(4, c.numKvHeads(), "kv heads default to heads");
    }

    @Test
    void explicitHeadDim() throws Exception {
        ModelConfig c = parse("{" + BASE + ",\"head_dim\":48}");
        assertEquals(48, c.headDim());
        assertEquals(192, c.qDim());
    }

    @Test
    void errorsNameTheField() {
        JLightException e = assertThrows(JLightException.class, () -> parse("{\"model_type\":\"llama\"}"));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("hidden_size"), e.getMessage());
        e = assertThrows(JLightException.class, () -> parse("{" + BASE + ",\"num_key_value_heads\":3}"));
        assertTrue(e.getMessage().contains("num_key_value_heads"), e.getMessage());
        e = assertThrows(JLightException.class, () -> parse("{" + BASE.replace("64", "\"x\"") + "}"));
        assertTrue(e.getMessage().contains("hidden_size"), e.getMessage());
        e = assertThrows(JLightException.class, () -> parse("{" + BASE + ",\"rope_scaling\":{\"type\":\"yarn\",\"factor\":2}}"));
        assertTrue(e.getMessage().contains("yarn"), e.getMessage());
    }

    @Test
    void missingConfigFileNamesTheFolder(@org.junit.jupiter.api.io.TempDir Path dir) {
        JLightException e = assertThrows(JLightException.class, () -> ModelConfig.load(dir));
        assertTrue(e.getMessage().contains("config.json"), e.getMessage());
    }
}
