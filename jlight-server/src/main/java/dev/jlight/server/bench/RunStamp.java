package dev.jlight.server.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What every benchmark row names besides its figures: the hardware and the commit it ran on. */
public final class RunStamp {
    private RunStamp() {
    }

    public static String hardware() {
        String cpu = "unknown CPU";
        try {
            cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse(cpu);
        } catch (IOException ignored) {
            // not Linux: keep the default
        }
        return cpu + ", " + Runtime.getRuntime().availableProcessors() + " cores, Java " + Runtime.version();
    }

    public static String commit() {
        try {
            Process p = new ProcessBuilder("git", "rev-parse", "--short", "HEAD").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            return p.waitFor() == 0 ? out : "unknown";
        } catch (IOException | InterruptedException e) {
            return "unknown";
        }
    }
}
