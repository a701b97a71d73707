package dev.jlight.server.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDate;
import java.util.List;

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

    /**
     * The comment that heads a benchmark's rows in a results Markdown file:
     * {@code <!-- jlight bench COMMAND DATE, commit C, HARDWARE SETTINGS -->}; settings starts with its
     * own separator (", model ...") or is empty.
     */
    public static String markdownStamp(String command, String settings) {
        return "<!-- jlight bench " + command + " " + LocalDate.now() + ", commit " + commit() + ", " + hardware()
                + settings + " -->";
    }

    /** Appends lines to a results Markdown file, creating it if needed (runs accumulate). */
    public static void appendMarkdown(Path file, List<String> lines) throws IOException {
        Files.write(file, lines, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
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
