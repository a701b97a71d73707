package dev.jlight.core.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jlight.core.JLightException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongConsumer;
import java.util.stream.Stream;

/**
 * The safetensors files of a HF model folder, memory-mapped: one model.safetensors, or shards
 * listed by model.safetensors.index.json, or (without an index) every *.safetensors file.
 */
public final class SafetensorsWeights implements Weights {
    private static final ObjectMapper JSON = new ObjectMapper();
    public static final String INDEX = "model.safetensors.index.json";

    private final List<SafetensorsFile> files;
    private final Map<String, WeightTensor> byName;

    private SafetensorsWeights(List<SafetensorsFile> files, Map<String, WeightTensor> byName) {
        this.files = files;
        this.byName = byName;
    }

    public static SafetensorsWeights open(Path folder) {
        return open(folder, bytes -> { });
    }

    /** Opens every file; {@code progress} receives the bytes of each file as it is mapped. */
    public static SafetensorsWeights open(Path folder, LongConsumer progress) {
        List<Path> paths = filesOf(folder);
        List<SafetensorsFile> files = new ArrayList<>();
        Map<String, WeightTensor> byName = new LinkedHashMap<>();
        try {
            for (Path p : paths) {
                SafetensorsFile f = SafetensorsFile.open(p);
                files.add(f);
                for (WeightTensor t : f.tensors().values()) {
                    WeightTensor prev = byName.put(t.name(), t);
                    if (prev != null) {
                        throw JLightException.inFile(p, "tensor '" + t.name() + "' is also in " + prev.file().getFileName());
                    }
                }
                progress.accept(sizeOf(p));
            }
        } catch (RuntimeException e) {
            files.forEach(SafetensorsFile::close);
            throw e;
        }
        return new SafetensorsWeights(files, Collections.unmodifiableMap(byName));
    }

    /** The files a folder's weights are in, in load order. */
    public static List<Path> filesOf(Path folder) {
        Path index = folder.resolve(INDEX);
        if (Files.isRegularFile(index)) {
            JsonNode weightMap;
            try {
                weightMap = JSON.readTree(index.toFile()).get("weight_map");
            } catch (IOException e) {
                throw JLightException.inFile(index, "not valid JSON: " + e.getMessage());
            }
            if (weightMap == null || !weightMap.isObject()) {
                throw JLightException.inFile(index, "missing field 'weight_map'");
            }
            Set<String> names = new LinkedHashSet<>();
            weightMap.fields().forEachRemaining(e -> names.add(e.getValue().asText()));
            List<Path> out = new ArrayList<>();
            for (String n : names) {
                Path p = folder.resolve(n).normalize();
                if (!p.startsWith(folder.normalize()) || !Files.isRegularFile(p)) {
                    throw JLightException.inFile(index, "weight_map names shard '" + n + "', which is not in " + folder);
                }
                out.add(p);
            }
            return out;
        }
        try (Stream<Path> s = Files.list(folder)) {
            List<Path> out = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
            if (out.isEmpty()) {
                throw new JLightException(folder + ": no *.safetensors files (and no " + INDEX + ")");
            }
            return out;
        } catch (IOException e) {
            throw new JLightException(folder + ": cannot list the model folder: " + e.getMessage());
        }
    }

    public static long sizeOf(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return 0;
        }
    }

    @Override
    public Optional<WeightTensor> find(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    @Override
    public WeightTensor require(String name, long... expectedShape) {
        WeightTensor t = byName.get(name);
        if (t == null) {
            Path where = files.isEmpty() ? null : files.get(0).path().getParent();
            throw new JLightException(where + ": missing tensor '" + name + "' (expected shape "
                    + Arrays.toString(expectedShape) + ")");
        }
        if (!Arrays.equals(t.shape(), expectedShape)) {
            throw JLightException.inFile(t.file(), "tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                    + " but config.json implies " + Arrays.toString(expectedShape));
        }
        if (!t.dtype().isFloatWeight()) {
            throw JLightException.inFile(t.file(), "tensor '" + name + "' has dtype " + t.dtype()
                    + "; unquantized weights must be F32, F16 or BF16");
        }
        return t;
    }

    @Override
    public Set<String> names() {
        return byName.keySet();
    }

    @Override
    public long totalBytes() {
        long n = 0;
        for (WeightTensor t : byName.values()) {
            n += t.data().byteSize();
        }
        return n;
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}
