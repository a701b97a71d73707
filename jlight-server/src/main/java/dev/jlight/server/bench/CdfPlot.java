package dev.jlight.server.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Empirical CDFs of latency samples (seconds) on a log-ms axis, drawn headless to a PNG. */
public final class CdfPlot {
    private CdfPlot() {
    }

    public static void write(Path png, String title, List<String> names, List<List<Double>> seriesSeconds)
            throws IOException {
        double lo = Double.POSITIVE_INFINITY;
        double hi = 0;
        for (List<Double> s : seriesSeconds) {
            for (double v : s) {
                if (v > 0) {
                    lo = Math.min(lo, v * 1e3);
                    hi = Math.max(hi, v * 1e3);
                }
            }
        }
        PlotFrame f = new PlotFrame(title, PlotFrame.Axis.logDecades(lo, hi), "latency (ms, log scale)",
                new PlotFrame.Axis(0, 1, false), "fraction of samples");
        for (int i = 0; i < seriesSeconds.size(); i++) {
            double[] ms = seriesSeconds.get(i).stream().mapToDouble(v -> v * 1e3).sorted().toArray();
            f.steps(ms, PlotFrame.COLORS[i % PlotFrame.COLORS.length]);
            f.legend(names.get(i) + " (n=" + ms.length + ")", PlotFrame.COLORS[i % PlotFrame.COLORS.length],
                    PlotFrame.SOLID);
        }
        f.save(png);
    }
}
