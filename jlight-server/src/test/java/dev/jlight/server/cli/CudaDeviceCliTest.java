package dev.jlight.server.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.jlight.core.testing.RepoPaths;
import dev.jlight.cuda.CudaBackend;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * {@code --device cuda} where CUDA cannot run (no driver on the CI machines): generate and serve
 * exit 2 with one line naming what was asked and what is missing, never a JVM crash or a stack
 * trace. On a machine with a GPU these cases are skipped (scripts/device_e2e.sh covers it).
 */
class CudaDeviceCliTest {

    /** Runs the CLI with stderr captured; returns {exit code, stderr}. */
    private static Object[] run(String... args) {
        PrintStream before = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int rc = JLightCli.execute(args);
            return new Object[] {rc, err.toString(StandardCharsets.UTF_8)};
        } finally {
            System.setErr(before);
        }
    }

    private static void assertClearRefusal(String... args) {
        CudaBackend.Availability a = CudaBackend.probe();
        assumeFalse(a.available(), "a GPU is usable here: " + a.device());
        Object[] r = run(args);
        String err = (String) r[1];
        assertEquals(2, r[0], "exit code; stderr: " + err);
        assertTrue(err.contains("jlight: error: --device cuda: CUDA is not usable here: "), err);
        assertTrue(err.contains(a.reason()), "names what is missing (" + a.reason() + "): " + err);
        assertTrue(!err.contains("\tat "), "no stack trace: " + err);
    }

    @Test
    void generateOnCudaWithoutAGpuExits2() {
        String model = RepoPaths.root().resolve("models").resolve("jlight-demo").toString();
        assertClearRefusal("generate", "--model", model, "--device", "cuda", "-p", "Hello", "--max-tokens", "2");
    }

    @Test
    void serveOnCudaWithoutAGpuExits2() {
        String model = RepoPaths.root().resolve("models").resolve("jlight-demo").toString();
        assertClearRefusal("serve", "--model", model, "--device", "cuda", "--port", "0");
    }
}
