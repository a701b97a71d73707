package dev.jlight.server.bench;

import java.util.Locale;

/**
 * One request rate of a sweep, reduced to the seed's metric set: the achieved request throughput
 * and TTFT / TPOT mean and P95 (ms), plus output tok/s.
 *
 * @param rate the offered rate (requests/s; infinity for all at once)
 */
public record SweepPoint(double rate, double qps, double ttftMeanMs, double ttftP95Ms, double tpotMeanMs,
                         double tpotP95Ms, double outputTokS, int completed, int failed) {
    static SweepPoint of(double rate, ServeMetrics m) {
        double[] ttft = ServeMetrics.arr(m.ttfts);
        double[] tpot = ServeMetrics.arr(m.tpots);
        return new SweepPoint(rate, m.requestThroughput, Stats.mean(ttft) * 1e3, Stats.percentile(ttft, 95) * 1e3,
                Stats.mean(tpot) * 1e3, Stats.percentile(tpot, 95) * 1e3, m.outputThroughput, m.completed, m.failed);
    }

    static final String MD_HEADER = "| offered req/s | achieved QPS | TTFT mean ms | TTFT P95 ms | TPOT mean ms | "
            + "TPOT P95 ms | output tok/s | completed | failed |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|";

    String mdRow() {
        return String.format(Locale.ROOT, "| %s | %.2f | %.1f | %.1f | %.2f | %.2f | %.1f | %d | %d |",
                BenchServeCommand.rateText(rate), qps, ttftMeanMs, ttftP95Ms, tpotMeanMs, tpotP95Ms, outputTokS,
                completed, failed);
    }
}
