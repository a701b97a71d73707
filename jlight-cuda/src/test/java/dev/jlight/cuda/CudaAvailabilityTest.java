package dev.jlight.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.jlight.core.JLightException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * Runs everywhere (CI has no GPU): the probe must say why there is no backend without crashing,
 * and the build must have put the kernels in the jar whenever nvcc was there.
 */
class CudaAvailabilityTest {

    @Test
    void withoutAGpuTheProbeSaysWhyAndOpeningFailsWithTheSameMessage() {
        CudaBackend.Availability a = CudaBackend.probe();
        assumeFalse(a.available(), "a GPU is present: nothing to check here");
        assertFalse(CudaBackend.isAvailable());
        String reason = a.reason();
        assertTrue(reason.equals("no CUDA driver (libcuda.so.1 not found)") || reason.startsWith("no GPU")
                || reason.startsWith("kernels not built"), "unclear reason: " + reason);
        JLightException e = assertThrows(JLightException.class, CudaBackend::new);
        assertEquals(reason, e.getMessage());
    }

    @Test
    void probeIsRepeatableAndCheap() {
        for (int i = 0; i < 3; i++) {
            assertNotNull(CudaBackend.probe().reason());
        }
    }

    @Test
    void fatbinIsInTheJarWhenNvccWasPresentAtBuildTime() throws IOException {
        Properties info = Kernels.buildInfo();
        assertNotNull(info.getProperty("built"), "build-kernels.sh wrote no kernels.properties");
        if (Files.isExecutable(Path.of("/usr/local/cuda/bin/nvcc"))) {
            assertEquals("true", info.getProperty("built"), "nvcc is here, so the kernels must have been built");
        }
        if ("true".equals(info.getProperty("built"))) {
            try (InputStream in = Kernels.class.getResourceAsStream(Kernels.FATBIN)) {
                assertNotNull(in, "kernels.fatbin resource");
                byte[] bytes = in.readAllBytes();
                assertTrue(bytes.length > 1000, "fatbin of " + bytes.length + " bytes");
                int magic = ByteBuffer.wrap(bytes, 0, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
                assertEquals(0xBA55ED50, magic, "fatbin magic");
            }
            assertEquals(null, Kernels.missingReason());
        } else {
            assertEquals("kernels not built (nvcc absent at build time)", Kernels.missingReason());
        }
    }

    @Test
    void badOptionsAreRejectedBeforeTouchingTheDriver() {
        var e = assertThrows(JLightException.class, () -> new CudaBackend.Options(0, 1.5, 0));
        assertEquals("gpu-memory-utilization must be in (0, 1], got 1.5", e.getMessage());
    }
}
