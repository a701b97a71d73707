package dev.jlight.core.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jlight.core.JLightException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A memory-mapped .safetensors file: an 8-byte little-endian header length, a JSON header of
 * {name: {dtype, shape, data_offsets: [begin, end]}}, then the raw tensor bytes. Tensors are
 * slices of the mapping; the file stays mapped until {@link #close()}.
 */
public final class SafetensorsFile implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** safetensors itself refuses headers over 100 MB; so do we, before allocating them. */
    private static final long MAX_HEADER = 100L << 20;

    private final Path path;
    private final Arena arena;
    private final Map<String, WeightTensor> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, Map<String, WeightTensor> tensors, Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public static SafetensorsFile open(Path path) {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw JLightException.inFile(path, "truncated safetensors file (" + size + " bytes, no header length)");
            }
            MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long headerLen = all.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > size) {
                throw JLightException.inFile(path, "truncated or corrupt safetensors header (header length "
                        + headerLen + ", file size " + size + ")");
            }
            byte[] headerBytes = all.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
            JsonNode header;
            try {
                header = JSON.readTree(new String(headerBytes, StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw JLightException.inFile(path, "safetensors header is not valid JSON: " + e.getMessage());
            }
            if (header == null || !header.isObject()) {
                throw JLightException.inFile(path, "safetensors header is not a JSON object");
            }
            MemorySegment body = all.asSlice(8 + headerLen);
            Map<String, WeightTensor> tensors = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    e.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                tensors.put(e.getKey(), parseEntry(path, e.getKey(), e.getValue(), body));
            }
            return new SafetensorsFile(path, arena, Collections.unmodifiableMap(tensors), metadata);
        } catch (IOException e) {
            arena.close();
            throw JLightException.inFile(path, "cannot read: " + e.getMessage());
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static WeightTensor parseEntry(Path path, String name, JsonNode entry, MemorySegment body) {
        String where = path.getFileName() + " tensor '" + name + "'";
        JsonNode dtypeNode = entry.get("dtype");
        JsonNode shapeNode = entry.get("shape");
        JsonNode offsets = entry.get("data_offsets");
        if (dtypeNode == null || shapeNode == null || !shapeNode.isArray() || offsets == null || !offsets.isArray()
                || offsets.size() != 2) {
            throw JLightException.inFile(path, "tensor '" + name + "' lacks dtype, shape or data_offsets");
        }
        DType dtype = DType.fromSafetensors(dtypeNode.asText(), path + ": tensor '" + name + "'");
        long[] shape = new long[shapeNode.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = shapeNode.get(i).asLong(-1);
            if (shape[i] < 0) {
                throw JLightException.inFile(path, "tensor '" + name + "' has a negative dimension");
            }
            numel = Math.multiplyExact(numel, shape[i]);
        }
        long begin = offsets.get(0).asLong(-1);
        long end = offsets.get(1).asLong(-1);
        if (begin < 0 || end < begin || end > body.byteSize()) {
            throw JLightException.inFile(path, "tensor '" + name + "' data_offsets [" + begin + ", " + end
                    + "] outside the file's data (" + body.byteSize() + " bytes): truncated file?");
        }
        if (end - begin != numel * dtype.bytes()) {
            throw JLightException.inFile(path, "tensor '" + name + "' has " + (end - begin) + " bytes but shape "
                    + java.util.Arrays.toString(shape) + " of " + dtype + " needs " + numel * dtype.bytes());
        }
        return new WeightTensor(name, dtype, shape, body.asSlice(begin, end - begin), path);
    }

    public Path path() {
        return path;
    }

    public Map<String, WeightTensor> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public void close() {
        arena.close();
    }
}
