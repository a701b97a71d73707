package dev.jlight.core.config;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jlight.core.JLightException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Which decoder layers of a config use sliding-window attention, read the way HF transformers
 * reads them:
 * <ul>
 *   <li>{@code layer_types} (transformers 5 writes it): the layers marked "sliding_attention";</li>
 *   <li>else the Qwen family ({@code use_sliding_window}, default false, and
 *       {@code max_window_layers}): layers {@code i >= max_window_layers} when the window is on;</li>
 *   <li>else (Mistral, Mixtral): every layer when {@code sliding_window} is set.</li>
 * </ul>
 * JLight runs full causal attention only, which equals windowed attention for sequences no longer
 * than the window; {@link ModelConfig#fullAttentionLength()} caps the context there, as vLLM does
 * when sliding windows are disabled.
 */
public record SlidingWindow(int window, List<Integer> layers) {
    /** model_types whose configs follow Qwen2's use_sliding_window / max_window_layers rule. */
    private static final Set<String> QWEN_STYLE = Set.of("qwen2", "qwen2_moe", "qwen3", "qwen3_moe");

    public static final SlidingWindow NONE = new SlidingWindow(0, List.of());

    public boolean isNone() {
        return layers.isEmpty();
    }

    static SlidingWindow of(ConfigFields f, String modelType, int numLayers) {
        JsonNode types = f.root().get("layer_types");
        Integer window = f.has("sliding_window") ? f.positiveInt("sliding_window") : null;
        List<Integer> sliding = new ArrayList<>();
        if (types != null && !types.isNull()) {
            if (!types.isArray() || types.size() != numLayers) {
                throw JLightException.inFile(f.file(), "field 'layer_types' must be a list of " + numLayers
                        + " entries (num_hidden_layers), got " + types);
            }
            for (int i = 0; i < numLayers; i++) {
                String t = types.get(i).asText();
                switch (t) {
                    case "full_attention" -> { }
                    case "sliding_attention" -> sliding.add(i);
                    default -> throw JLightException.inFile(f.file(), "layer_types[" + i + "] is '" + t
                            + "' (supported: full_attention, sliding_attention)");
                }
            }
        } else if (window != null) {
            boolean qwen = QWEN_STYLE.contains(modelType) || f.has("max_window_layers");
            boolean on = f.optBool("use_sliding_window", !qwen);
            int from = qwen ? f.optInt("max_window_layers", 0) : 0;
            for (int i = Math.max(0, from); on && i < numLayers; i++) {
                sliding.add(i);
            }
        }
        if (sliding.isEmpty()) {
            return NONE;
        }
        if (window == null) {
            throw JLightException.inFile(f.file(), "layers " + sliding
                    + " use sliding-window attention but field 'sliding_window' is missing");
        }
        return new SlidingWindow(window, List.copyOf(sliding));
    }
}
