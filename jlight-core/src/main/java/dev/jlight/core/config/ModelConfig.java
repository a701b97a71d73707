package dev.jlight.core.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jlight.core.JLightException;
import dev.jlight.core.backend.RopeSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The fields of a HF config.json that the decoder-only architectures share, typed. Reads both
 * config styles found in the wild: transformers 4 ({@code rope_theta}, {@code rope_scaling},
 * {@code torch_dtype}) and transformers 5 ({@code rope_parameters}, {@code dtype}).
 * Architecture-specific fields stay reachable through {@link #raw()}.
 */
public record ModelConfig(
        Path file,
        String modelType,
        List<String> architectures,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        double rmsNormEps,
        double ropeTheta,
        RopeSpec.Scaling ropeScaling,
        double partialRotaryFactor,
        int maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        boolean attentionBias,
        boolean mlpBias,
        Integer slidingWindow,
        String hiddenAct,
        String dtype,
        List<Integer> bosTokenIds,
        List<Integer> eosTokenIds,
        JsonNode raw) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public static ModelConfig load(Path folder) {
        Path file = folder.resolve("config.json");
        if (!Files.isRegularFile(file)) {
            throw new JLightException(folder + ": missing config.json (is this a Hugging Face model folder?)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw JLightException.inFile(file, "not valid JSON: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw JLightException.inFile(file, "not a JSON object");
        }
        return parse(file, root);
    }

    public static ModelConfig parse(Path file, JsonNode root) {
        ConfigFields f = new ConfigFields(file, root);
        String modelType = f.string("model_type", null);
        if (modelType == null) {
            throw JLightException.inFile(file, "missing field 'model_type'");
        }
        int hidden = f.positiveInt("hidden_size");
        int heads = f.positiveInt("num_attention_heads");
        int kvHeads = f.optInt("num_key_value_heads", heads);
        if (kvHeads <= 0 || heads % kvHeads != 0) {
            throw JLightException.inFile(file, "field 'num_key_value_heads' = " + kvHeads
                    + " must divide num_attention_heads = " + heads);
        }
        int headDim = f.optInt("head_dim", 0);
        if (headDim <= 0) {
            if (hidden % heads != 0) {
                throw JLightException.inFile(file, "field 'hidden_size' = " + hidden
                        + " is not a multiple of num_attention_heads = " + heads + " and 'head_dim' is absent");
            }
            headDim = hidden / heads;
        }
        if (headDim % 2 != 0) {
            throw JLightException.inFile(file, "field 'head_dim' = " + headDim + " must be even for rotary embeddings");
        }
        JsonNode ropeParams = root.get("rope_parameters"); // transformers 5
        JsonNode ropeScalingNode = root.get("rope_scaling"); // transformers 4
        double theta = f.optDouble("rope_theta", Double.NaN);
        if (Double.isNaN(theta) && ropeParams != null && ropeParams.has("rope_theta")) {
            theta = ropeParams.get("rope_theta").asDouble();
        }
        if (Double.isNaN(theta)) {
            theta = 10000.0;
        }
        JsonNode scalingNode = ropeScalingNode != null && !ropeScalingNode.isNull() ? ropeScalingNode : ropeParams;
        RopeSpec.Scaling scaling = parseScaling(file, scalingNode);
        int numLayers = f.positiveInt("num_hidden_layers");
        SlidingWindow.of(f, modelType, numLayers); // rejects malformed window fields at load time
        Integer sliding = root.hasNonNull("sliding_window") ? f.positiveInt("sliding_window") : null;
        if (root.has("use_sliding_window") && !root.get("use_sliding_window").asBoolean()) {
            sliding = null;
        }
        return new ModelConfig(
                file,
                modelType,
                f.stringList("architectures"),
                f.positiveInt("vocab_size"),
                hidden,
                f.positiveInt("intermediate_size"),
                numLayers,
                heads,
                kvHeads,
                headDim,
                f.optDouble("rms_norm_eps", 1e-6),
                theta,
                scaling,
                f.optDouble("partial_rotary_factor", 1.0),
                f.optInt("max_position_embeddings", 2048),
                f.optBool("tie_word_embeddings", false),
                f.optBool("attention_bias", false),
                f.optBool("mlp_bias", false),
                sliding,
                f.string("hidden_act", "silu"),
                f.string("torch_dtype", f.string("dtype", null)),
                f.intList("bos_token_id"),
                f.intList("eos_token_id"),
                root);
    }

    private static RopeSpec.Scaling parseScaling(Path file, JsonNode node) {
        if (node == null || node.isNull()) {
            return RopeSpec.Scaling.NONE;
        }
        String type = node.has("rope_type") ? node.get("rope_type").asText()
                : node.has("type") ? node.get("type").asText() : "default";
        return switch (type) {
            case "default" -> RopeSpec.Scaling.NONE;
            case "linear" -> new RopeSpec.Scaling("linear", need(file, node, "factor"), 0, 0, 0);
            case "llama3" -> new RopeSpec.Scaling("llama3", need(file, node, "factor"),
                    need(file, node, "low_freq_factor"), need(file, node, "high_freq_factor"),
                    (int) need(file, node, "original_max_position_embeddings"));
            default -> throw JLightException.inFile(file, "rope scaling type '" + type
                    + "' is not supported (supported: default, linear, llama3)");
        };
    }

    private static double need(Path file, JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || !v.isNumber()) {
            throw JLightException.inFile(file, "rope scaling field '" + field + "' is missing or not a number");
        }
        return v.asDouble();
    }

    public RopeSpec rope() {
        int rotary = (int) Math.round(headDim * partialRotaryFactor);
        return new RopeSpec(headDim, rotary - rotary % 2, ropeTheta, ropeScaling);
    }

    /** Which layers use sliding-window attention (see {@link SlidingWindow}). */
    public SlidingWindow slidingWindows() {
        return SlidingWindow.of(ConfigFields.of(this), modelType, numLayers);
    }

    /**
     * The longest sequence JLight's full causal attention computes exactly as this model does:
     * max_position_embeddings, capped at the window when some layers use a shorter sliding window
     * (within the window, windowed and full attention are the same).
     */
    public int fullAttentionLength() {
        SlidingWindow w = slidingWindows();
        return w.isNone() ? maxPositionEmbeddings : Math.min(maxPositionEmbeddings, w.window());
    }

    public int qDim() {
        return numHeads * headDim;
    }

    public int kvDim() {
        return numKvHeads * headDim;
    }
}
