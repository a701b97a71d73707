package dev.jlight.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.jlight.core.JLightException;
import org.junit.jupiter.api.Test;

class ByteSizeTest {
    @Test
    void parsesUnits() {
        assertEquals(2L << 30, ByteSize.parse("--x", "2GiB"));
        assertEquals(2L << 30, ByteSize.parse("--x", "2G"));
        assertEquals(2_000_000_000L, ByteSize.parse("--x", "2GB"));
        assertEquals(512L << 20, ByteSize.parse("--x", "512 MiB"));
        assertEquals(1536L << 20, ByteSize.parse("--x", "1.5GiB"));
        assertEquals(4096, ByteSize.parse("--x", "4096"));
        assertEquals(64 << 10, ByteSize.parse("--x", "64k"));
        assertThrows(JLightException.class, () -> ByteSize.parse("--x", "lots"));
        assertThrows(JLightException.class, () -> ByteSize.parse("--x", "3 parsecs"));
        assertThrows(JLightException.class, () -> ByteSize.parse("--x", "-1GiB"));
        assertEquals("1.50 GiB", ByteSize.format(1536L << 20));
    }
}
