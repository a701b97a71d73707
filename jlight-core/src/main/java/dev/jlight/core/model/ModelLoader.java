package dev.jlight.core.model;

import dev.jlight.core.JLightException;
import dev.jlight.core.backend.Backend;
import dev.jlight.core.config.ModelConfig;
import dev.jlight.core.weights.Weights;
import java.util.Map;
import java.util.TreeMap;

/** Picks the architecture for a config's model_type and builds the model on a backend. */
public final class ModelLoader {
    @FunctionalInterface
    interface Factory {
        Model create(ModelConfig config, Weights weights, Backend backend, LoadProgress progress);
    }

    /** model_type → architecture. One entry per supported family; sorted for the error message. */
    private static final Map<String, Factory> ARCHITECTURES = new TreeMap<>(Map.of(
            "llama", LlamaModel::new,
            "mistral", LlamaModel::new,
            "minicpm", MiniCpmModel::new,
            "mixtral", MixtralModel::new,
            "qwen2", Qwen2Model::new));

    private ModelLoader() {
    }

    public static Model load(ModelConfig config, Weights weights, Backend backend, LoadProgress progress) {
        checkSupported(config);
        return ARCHITECTURES.get(config.modelType()).create(config, weights, backend, progress);
    }

    /** The model_types that load, sorted. */
    public static java.util.Set<String> supportedTypes() {
        return java.util.Collections.unmodifiableSet(ARCHITECTURES.keySet());
    }

    /** An unsupported model_type is an error that lists the supported ones. */
    public static void checkSupported(ModelConfig config) {
        if (!ARCHITECTURES.containsKey(config.modelType())) {
            throw JLightException.inFile(config.file(), "model_type '" + config.modelType()
                    + "' is not supported (supported: " + String.join(", ", ARCHITECTURES.keySet()) + ")");
        }
    }
}
