package dev.jlight.core.model;

import dev.jlight.core.JLightException;
import dev.jlight.core.backend.Backend;
import dev.jlight.core.config.ModelConfig;
import dev.jlight.core.weights.DType;
import dev.jlight.core.weights.DummyWeights;
import dev.jlight.core.weights.SafetensorsWeights;
import dev.jlight.core.weights.Weights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Opens a HF model folder: config.json, then the weights (mapped safetensors, or random weights
 * of the config's shapes for {@code --load-format dummy}), then the model on a backend.
 */
public final class ModelFolder {
    public enum LoadFormat { AUTO, SAFETENSORS, DUMMY;

        public static LoadFormat parse(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new JLightException("--load-format '" + s + "' is not one of auto, safetensors, dummy");
            }
        }
    }

    private ModelFolder() {
    }

    /** The config's dtype name (torch_dtype / dtype) mapped to a DType; BF16 if absent. */
    public static DType configDType(ModelConfig c) {
        if (c.dtype() == null) {
            return DType.BF16;
        }
        return switch (c.dtype()) {
            case "float32" -> DType.F32;
            case "float16" -> DType.F16;
            default -> DType.BF16;
        };
    }

    public static Weights openWeights(Path folder, ModelConfig config, LoadFormat format, java.util.function.LongConsumer progress) {
        if (!Files.isDirectory(folder)) {
            throw new JLightException(folder + ": model folder does not exist");
        }
        return switch (format) {
            case DUMMY -> new DummyWeights(configDType(config), 0);
            case SAFETENSORS, AUTO -> SafetensorsWeights.open(folder, progress);
        };
    }

    /** Bytes the weights will take: the safetensors files, or the config's shapes for dummy weights. */
    public static long weightBytes(Path folder, ModelConfig c, LoadFormat format) {
        if (format != LoadFormat.DUMMY) {
            return SafetensorsWeights.filesOf(folder).stream().mapToLong(SafetensorsWeights::sizeOf).sum();
        }
        long h = c.hiddenSize();
        long perLayer = h * (c.qDim() + 2L * c.kvDim()) + (long) c.qDim() * h + 3L * h * c.intermediateSize() + 2 * h;
        long params = (long) c.vocabSize() * h * (c.tieWordEmbeddings() ? 1 : 2) + c.numLayers() * perLayer + h;
        return params * configDType(c).bytes();
    }

    /** Loads config, weights and model; the model keeps the weights open until closed. */
    public static Model load(Path folder, LoadFormat format, Backend backend, LoadProgress progress) {
        ModelConfig config = ModelConfig.load(folder);
        ModelLoader.checkSupported(config); // before mapping gigabytes of weights
        Weights weights = openWeights(folder, config, format, b -> { });
        try {
            Model m = ModelLoader.load(config, weights, backend, progress);
            return new OwningModel(m, weights);
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    /** A model that also closes its weights (the mapped files) when closed. */
    private record OwningModel(Model inner, Weights weights) implements Model {
        @Override
        public ModelConfig config() {
            return inner.config();
        }

        @Override
        public Backend backend() {
            return inner.backend();
        }

        @Override
        public dev.jlight.core.backend.KvCacheSpec kvCacheSpec(int numBlocks, int blockSize) {
            return inner.kvCacheSpec(numBlocks, blockSize);
        }

        @Override
        public float[] forward(ForwardBatch batch, dev.jlight.core.backend.KvCache kv) {
            return inner.forward(batch, kv);
        }

        @Override
        public boolean samplesOnDevice() {
            return inner.samplesOnDevice();
        }

        @Override
        public int[] forwardSampled(ForwardBatch batch, dev.jlight.core.backend.KvCache kv, DeviceSampling sampling) {
            return inner.forwardSampled(batch, kv, sampling);
        }

        @Override
        public boolean launchesAsync() {
            return inner.launchesAsync();
        }

        @Override
        public PendingIds launchSampled(ForwardBatch batch, dev.jlight.core.backend.KvCache kv,
                                        DeviceSampling sampling) {
            return inner.launchSampled(batch, kv, sampling);
        }

        @Override
        public int vocabSize() {
            return inner.vocabSize();
        }

        @Override
        public void close() {
            inner.close();
            weights.close();
        }
    }
}
