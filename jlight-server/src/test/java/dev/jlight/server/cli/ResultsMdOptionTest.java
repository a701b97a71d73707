package dev.jlight.server.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** The --results-md mixin of bench throughput and bench latency. */
class ResultsMdOptionTest {
    @Command(name = "probe")
    static final class Probe implements Runnable {
        @Mixin
        ResultsMdOption md;

        @Override
        public void run() {
        }
    }

    static ResultsMdOption parse(String... args) {
        Probe p = new Probe();
        new CommandLine(p).parseArgs(args);
        return p.md;
    }

    @Test
    void appendsStampedRowsAndKeepsEarlierRuns(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("results.md");
        ResultsMdOption md = parse("--results-md", file.toString());
        md.append("throughput", ", model m, input 4", List.of("| a |", "| b |"));
        md.append("latency", "", List.of("| c |"));
        List<String> lines = Files.readAllLines(file);
        assertEquals(5, lines.size(), lines.toString());
        assertTrue(lines.get(0).startsWith("<!-- jlight bench throughput "), lines.get(0));
        assertTrue(lines.get(0).endsWith(", model m, input 4 -->"), lines.get(0));
        assertTrue(lines.get(0).contains(", commit "), lines.get(0));
        assertEquals(List.of("| a |", "| b |"), lines.subList(1, 3));
        assertTrue(lines.get(3).startsWith("<!-- jlight bench latency "), lines.get(3));
        assertTrue(lines.get(3).endsWith(" cores, Java " + Runtime.version() + " -->"), lines.get(3));
        assertEquals("| c |", lines.get(4));
    }

    @Test
    void writesNothingWithoutTheFlag(@TempDir Path dir) throws Exception {
        ResultsMdOption md = parse();
        md.append("latency", "", List.of("| c |"));
        try (var files = Files.list(dir)) {
            assertFalse(files.findAny().isPresent());
        }
    }
}
