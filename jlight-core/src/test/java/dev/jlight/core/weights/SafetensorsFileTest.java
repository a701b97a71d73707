package dev.jlight.core.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jlight.core.JLightException;
import dev.jlight.core.testing.SafetensorsWriter;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsFileTest {
    @TempDir
    Path dir;

    @Test
    void mapsTensorsWithoutCopying() throws IOException {
        Path f = dir.resolve("model.safetensors");
        new SafetensorsWriter()
                .addF32("a", new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6})
                .addBf16("b", new long[] {4}, new float[] {1.5f, -2f, 0.25f, 100f})
                .write(f);
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            WeightTensor a = sf.tensors().get("a");
            assertEquals(DType.F32, a.dtype());
            assertArrayEquals(new long[] {2, 3}, a.shape());
            assertEquals(6f, a.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 5));
            assertTrue(a.data().isMapped(), "weights must stay in the mapped file");
            WeightTensor b = sf.tensors().get("b");
            assertEquals(-2f, DType.bf16ToFloat(b.data().getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, 1)));
            assertEquals(100f, DType.bf16ToFloat(b.data().getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, 3)));
        }
    }

    @Test
    void rejectsTruncatedHeader() throws IOException {
        Path f = dir.resolve("bad.safetensors");
        ByteBuffer b = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(1000);
        Files.write(f, b.array());
        JLightException e = assertThrows(JLightException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains("bad.safetensors") && e.getMessage().contains("header"), e.getMessage());
    }

    @Test
    void rejectsTinyFile() throws IOException {
        Path f = dir.resolve("tiny.safetensors");
        Files.write(f, new byte[3]);
        JLightException e = assertThrows(JLightException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains("tiny.safetensors"), e.getMessage());
    }

    @Test
    void rejectsUnsupportedDtypeNamingTheTensor() throws IOException {
        Path f = dir.resolve("m.safetensors");
        new SafetensorsWriter().add("w", DType.F32, new long[] {1}, new byte[4]).write(f);
        String text = Files.readString(f, StandardCharsets.ISO_8859_1).replace("\"F32\"", "\"F64\"");
        Files.writeString(f, text, StandardCharsets.ISO_8859_1);
        JLightException e = assertThrows(JLightException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("F64"), e.getMessage());
    }

    @Test
    void rejectsDataOutsideFile() throws IOException {
        Path f = dir.resolve("short.safetensors");
        new SafetensorsWriter().addF32("w", new long[] {4}, new float[4]).write(f);
        byte[] all = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(all, all.length - 4));
        JLightException e = assertThrows(JLightException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void rejectsShapeThatDoesNotMatchBytes() throws IOException {
        Path f = dir.resolve("m.safetensors");
        new SafetensorsWriter().add("w", DType.F32, new long[] {3}, new byte[8]).write(f);
        JLightException e = assertThrows(JLightException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains("needs 12"), e.getMessage());
    }

    @Test
    void shardedFolderThroughIndex() throws IOException {
        new SafetensorsWriter().addF32("x", new long[] {2}, new float[] {1, 2}).write(dir.resolve("a-00001.safetensors"));
        new SafetensorsWriter().addF32("y", new long[] {1}, new float[] {3}).write(dir.resolve("a-00002.safetensors"));
        Files.writeString(dir.resolve(SafetensorsWeights.INDEX),
                "{\"metadata\":{},\"weight_map\":{\"x\":\"a-00001.safetensors\",\"y\":\"a-00002.safetensors\"}}");
        try (SafetensorsWeights w = SafetensorsWeights.open(dir)) {
            assertEquals(2, w.names().size());
            assertEquals(3f, w.require("y", 1).data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 0));
            JLightException shape = assertThrows(JLightException.class, () -> w.require("x", 3));
            assertTrue(shape.getMessage().contains("[2]") && shape.getMessage().contains("[3]"), shape.getMessage());
            JLightException missing = assertThrows(JLightException.class, () -> w.require("z", 1));
            assertTrue(missing.getMessage().contains("'z'"), missing.getMessage());
        }
    }

    @Test
    void indexNamingMissingShardIsAnError() throws IOException {
        Files.writeString(dir.resolve(SafetensorsWeights.INDEX), "{\"weight_map\":{\"x\":\"nope.safetensors\"}}");
        JLightException e = assertThrows(JLightException.class, () -> SafetensorsWeights.open(dir));
        assertTrue(e.getMessage().contains("nope.safetensors"), e.getMessage());
    }

    @Test
    void bf16RoundTripRoundsToNearestEven() {
        for (float v : new float[] {0f, 1f, -3.5f, 1e-3f, 65504f, Float.MIN_NORMAL}) {
            float back = DType.bf16ToFloat(DType.floatToBf16(v));
            assertEquals(v, back, Math.abs(v) / 128f);
        }
        assertTrue(Float.isNaN(DType.bf16ToFloat(DType.floatToBf16(Float.NaN))));
    }
}
