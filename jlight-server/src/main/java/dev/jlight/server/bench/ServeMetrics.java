package dev.jlight.server.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** vLLM's calculate_metrics and the console table of benchmark_serving.py. */
public final class ServeMetrics {
    public int completed;
    public int failed;
    public double duration;
    public long totalInput;
    public long totalOutput;
    public double requestThroughput;
    public Double requestGoodput;
    public double outputThroughput;
    public double totalTokenThroughput;
    public final List<Double> ttfts = new ArrayList<>();
    public final List<Double> tpots = new ArrayList<>();
    public final List<Double> itls = new ArrayList<>();
    public final List<Double> e2els = new ArrayList<>();
    public final List<Integer> inputLens = new ArrayList<>();
    public final List<Integer> outputLens = new ArrayList<>();

    /** SLOs in ms for goodput: keys ttft, tpot, e2el; empty for none. */
    public static ServeMetrics compute(List<BenchRequest> reqs, List<RequestResult> outs, double duration,
                                       Map<String, Double> slosMs) {
        ServeMetrics m = new ServeMetrics();
        m.duration = duration;
        List<Double> allTpots = new ArrayList<>();
        int good = 0;
        for (int i = 0; i < outs.size(); i++) {
            RequestResult o = outs.get(i);
            BenchRequest r = reqs.get(i);
            int inLen = r.promptLen() >= 0 ? r.promptLen() : Math.max(o.promptTokens(), 0);
            if (o.success()) {
                int outLen = o.outputTokens() > 0 ? o.outputTokens() : o.itl().size() + 1;
                m.outputLens.add(outLen);
                m.inputLens.add(inLen);
                m.totalInput += inLen;
                m.totalOutput += outLen;
                double tpot = 0;
                if (outLen > 1) {
                    tpot = (o.latency() - o.ttft()) / (outLen - 1);
                    m.tpots.add(tpot);
                }
                allTpots.add(tpot);
                m.itls.addAll(o.itl());
                m.ttfts.add(o.ttft());
                m.e2els.add(o.latency());
                m.completed++;
                boolean ok = true;
                if (slosMs.containsKey("ttft") && o.ttft() * 1e3 > slosMs.get("ttft")) {
                    ok = false;
                }
                if (slosMs.containsKey("tpot") && tpot * 1e3 > slosMs.get("tpot")) {
                    ok = false;
                }
                if (slosMs.containsKey("e2el") && o.latency() * 1e3 > slosMs.get("e2el")) {
                    ok = false;
                }
                if (ok) {
                    good++;
                }
            } else {
                m.outputLens.add(0);
                m.inputLens.add(inLen);
                m.failed++;
            }
        }
        m.requestThroughput = m.completed / duration;
        m.requestGoodput = slosMs.isEmpty() ? null : good / duration;
        m.outputThroughput = m.totalOutput / duration;
        m.totalTokenThroughput = (m.totalInput + m.totalOutput) / duration;
        return m;
    }

    static double[] arr(List<Double> l) {
        return l.stream().mapToDouble(Double::doubleValue).toArray();
    }

    public List<Double> series(String metric) {
        return switch (metric) {
            case "ttft" -> ttfts;
            case "tpot" -> tpots;
            case "itl" -> itls;
            case "e2el" -> e2els;
            default -> throw new IllegalArgumentException("unknown metric " + metric + " (ttft, tpot, itl, e2el)");
        };
    }

    public static Map<String, Double> parseGoodput(List<String> specs) {
        Map<String, Double> m = new LinkedHashMap<>();
        if (specs == null) {
            return m;
        }
        for (String s : specs) {
            String[] kv = s.split(":", 2);
            if (kv.length != 2 || !List.of("ttft", "tpot", "e2el").contains(kv[0])) {
                throw new IllegalArgumentException("--goodput takes ttft:MS tpot:MS e2el:MS, got " + s);
            }
            double v = Double.parseDouble(kv[1]);
            if (!(v >= 0)) {
                throw new IllegalArgumentException("--goodput " + kv[0] + " must be >= 0 ms");
            }
            m.put(kv[0], v);
        }
        return m;
    }

    private static final Map<String, String[]> NAMES = Map.of(
            "ttft", new String[]{"Time to First Token", "TTFT"},
            "tpot", new String[]{"Time per Output Token (excl. 1st token)", "TPOT"},
            "itl", new String[]{"Inter-token Latency", "ITL"},
            "e2el", new String[]{"End-to-end Latency", "E2EL"});

    static String center(String s, int n, char c) {
        int pad = Math.max(0, n - s.length());
        int left = pad / 2;
        return String.valueOf(c).repeat(left) + s + String.valueOf(c).repeat(pad - left);
    }

    private static String row(String k, Object v) {
        if (v instanceof Double d) {
            return String.format(Locale.ROOT, "%-40s %-10.2f%n", k, d);
        }
        return String.format(Locale.ROOT, "%-40s %-10s%n", k, v);
    }

    static String fmtP(double p) {
        return p == Math.rint(p) ? String.valueOf((long) p) : String.valueOf(p);
    }

    /** The table benchmark_serving.py prints. */
    public String table(String rateText, Integer maxConcurrency, List<String> metrics, List<Double> percentiles) {
        StringBuilder sb = new StringBuilder();
        sb.append(center(" Serving Benchmark Result ", 50, '=')).append('\n');
        sb.append(row("Successful requests:", completed));
        if (failed > 0) {
            sb.append(row("Failed requests:", failed));
        }
        sb.append(row("Maximum request concurrency:", maxConcurrency == null ? "None" : maxConcurrency));
        sb.append(row("Traffic request rate:", rateText));
        sb.append(row("Benchmark duration (s):", duration));
        sb.append(row("Total input tokens:", totalInput));
        sb.append(row("Total generated tokens:", totalOutput));
        sb.append(row("Request throughput (req/s):", requestThroughput));
        if (requestGoodput != null) {
            sb.append(row("Request goodput (req/s):", requestGoodput));
        }
        sb.append(row("Output token throughput (tok/s):", outputThroughput));
        sb.append(row("Total Token throughput (tok/s):", totalTokenThroughput));
        for (String metric : metrics) {
            String[] nm = NAMES.get(metric);
            double[] x = arr(series(metric));
            sb.append(center(nm[0], 50, '-')).append('\n');
            sb.append(row("Mean " + nm[1] + " (ms):", Stats.mean(x) * 1e3));
            sb.append(row("Median " + nm[1] + " (ms):", Stats.median(x) * 1e3));
            for (double p : percentiles) {
                sb.append(row("P" + fmtP(p) + " " + nm[1] + " (ms):", Stats.percentile(x, p) * 1e3));
            }
        }
        sb.append("=".repeat(50)).append('\n');
        return sb.toString();
    }

    /** vLLM's result fields for the metrics: mean_X_ms, median_X_ms, std_X_ms, pNN_X_ms. */
    public void putLatencyFields(Map<String, Object> out, List<String> metrics, List<Double> percentiles) {
        for (String metric : metrics) {
            double[] x = arr(series(metric));
            out.put("mean_" + metric + "_ms", Stats.mean(x) * 1e3);
            out.put("median_" + metric + "_ms", Stats.median(x) * 1e3);
            out.put("std_" + metric + "_ms", Stats.std(x) * 1e3);
            for (double p : percentiles) {
                out.put("p" + fmtP(p) + "_" + metric + "_ms", Stats.percentile(x, p) * 1e3);
            }
        }
    }
}
