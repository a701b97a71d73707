package dev.jlight.core.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jlight.core.weights.DType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Writes small safetensors files for tests (the format is simple enough to write by hand). */
public final class SafetensorsWriter {
    private final Map<String, Object[]> tensors = new LinkedHashMap<>();

    public SafetensorsWriter add(String name, DType dtype, long[] shape, byte[] data) {
        tensors.put(name, new Object[] {dtype, shape, data});
        return this;
    }

    public SafetensorsWriter addF32(String name, long[] shape, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return add(name, DType.F32, shape, b.array());
    }

    public SafetensorsWriter addBf16(String name, long[] shape, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putShort(DType.floatToBf16(v));
        }
        return add(name, DType.BF16, shape, b.array());
    }

    public void write(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (Map.Entry<String, Object[]> e : tensors.entrySet()) {
            DType dt = (DType) e.getValue()[0];
            long[] shape = (long[]) e.getValue()[1];
            byte[] data = (byte[]) e.getValue()[2];
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", dt.safetensorsName());
            var arr = t.putArray("shape");
            for (long d : shape) {
                arr.add(d);
            }
            var off = t.putArray("data_offsets");
            off.add(body.size());
            off.add(body.size() + data.length);
            body.write(data);
        }
        byte[] h = json.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int pad = (8 - h.length % 8) % 8;
        byte[] hp = new byte[h.length + pad];
        System.arraycopy(h, 0, hp, 0, h.length);
        for (int i = h.length; i < hp.length; i++) {
            hp[i] = ' ';
        }
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(hp.length);
        try (var out = Files.newOutputStream(file)) {
            out.write(len.array());
            out.write(hp);
            body.writeTo(out);
        }
    }
}
