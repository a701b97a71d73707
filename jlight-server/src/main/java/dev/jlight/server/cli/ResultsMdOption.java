package dev.jlight.server.cli;

import dev.jlight.server.bench.RunStamp;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** {@code --results-md} of the in-process benchmarks (bench throughput, bench latency). */
final class ResultsMdOption {
    @Option(names = "--results-md", description = "Append the result rows to this Markdown file.")
    Path resultsMd;

    /**
     * Appends {@code rows} under a stamp naming {@code jlight bench <command>}, the date, commit and
     * hardware, then {@code settings}; nothing when the flag is absent.
     */
    void append(String command, String settings, List<String> rows) throws IOException {
        if (resultsMd != null) {
            List<String> lines = new ArrayList<>();
            lines.add(RunStamp.markdownStamp(command, settings));
            lines.addAll(rows);
            RunStamp.appendMarkdown(resultsMd, lines);
        }
    }
}
