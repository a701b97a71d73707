package dev.jlight.server.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * A request-rate sweep: TTFT and TPOT (mean solid, P95 dashed) against the achieved QPS, on a log
 * latency axis because TTFT grows by orders of magnitude once the server saturates while TPOT
 * stays in milliseconds.
 */
public final class SweepPlot {
    private SweepPlot() {
    }

    public static void write(Path png, String title, List<SweepPoint> points) throws IOException {
        List<SweepPoint> p = points.stream().sorted(Comparator.comparingDouble(SweepPoint::qps)).toList();
        double lo = Double.POSITIVE_INFINITY;
        double hi = 0;
        for (SweepPoint s : p) {
            for (double v : new double[]{s.ttftMeanMs(), s.ttftP95Ms(), s.tpotMeanMs(), s.tpotP95Ms()}) {
                if (v > 0) {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
        }
        double maxQps = p.stream().mapToDouble(SweepPoint::qps).max().orElse(1);
        PlotFrame f = new PlotFrame(title, PlotFrame.Axis.linearFromZero(maxQps * 1.05), "achieved QPS (requests/s)",
                PlotFrame.Axis.logDecades(lo, hi), "latency (ms, log scale)");
        double[] qps = p.stream().mapToDouble(SweepPoint::qps).toArray();
        series(f, p, qps, "TTFT mean", SweepPoint::ttftMeanMs, 0, false);
        series(f, p, qps, "TTFT P95", SweepPoint::ttftP95Ms, 0, true);
        series(f, p, qps, "TPOT mean", SweepPoint::tpotMeanMs, 1, false);
        series(f, p, qps, "TPOT P95", SweepPoint::tpotP95Ms, 1, true);
        f.save(png);
    }

    private static void series(PlotFrame f, List<SweepPoint> p, double[] qps, String name,
                               ToDoubleFunction<SweepPoint> metric, int color, boolean p95) {
        double[] ys = p.stream().mapToDouble(metric).toArray();
        f.line(qps, ys, PlotFrame.COLORS[color], p95 ? PlotFrame.DASHED : PlotFrame.SOLID, true);
        f.legend(name, PlotFrame.COLORS[color], p95 ? PlotFrame.DASHED : PlotFrame.SOLID);
    }
}
