package dev.jlight.server.cli;

import dev.jlight.core.model.LoadProgress;
import java.io.PrintStream;

/** A one-line progress bar on stderr for loading large models; silent when total is small. */
final class ProgressBar implements LoadProgress {
    private static final long SHOW_ABOVE = 256L << 20;
    private final PrintStream out;
    private final String label;
    private final long total;
    private long done;
    private int lastPercent = -1;

    ProgressBar(PrintStream out, String label, long total) {
        this.out = out;
        this.label = label;
        this.total = total;
    }

    @Override
    public synchronized void loaded(long bytes) {
        done += bytes;
        if (total < SHOW_ABOVE) {
            return;
        }
        int percent = (int) Math.min(100, done * 100 / total);
        if (percent != lastPercent) {
            lastPercent = percent;
            int filled = percent * 30 / 100;
            out.printf("\r%s [%s%s] %3d%% %,d MiB", label, "#".repeat(filled), " ".repeat(30 - filled), percent,
                    done >> 20);
            if (percent == 100) {
                out.println();
            }
            out.flush();
        }
    }
}
