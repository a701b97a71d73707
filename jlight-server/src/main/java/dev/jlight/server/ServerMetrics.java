package dev.jlight.server;

import dev.jlight.core.engine.EngineMetrics;
import dev.jlight.core.engine.FinishReason;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * The Prometheus text exposition of {@code GET /metrics}, with vLLM's metric names under the
 * {@code jlight:} prefix: engine gauges and counters read from the engine's latest
 * {@link EngineMetrics} snapshot, request counters and latency histograms kept here.
 */
public final class ServerMetrics {
    /** vLLM's buckets for time to first token. */
    static final double[] TTFT_BUCKETS = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0,
        2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
    /** vLLM's buckets for time per output token. */
    static final double[] TPOT_BUCKETS = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
        5.0, 7.5, 10.0, 20.0, 40.0, 80.0};
    /** vLLM's buckets for end-to-end request latency. */
    static final double[] E2E_BUCKETS = {0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0,
        60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};

    /** A cumulative histogram; thread-safe. */
    static final class Histogram {
        private final double[] bounds;
        private final long[] counts;
        private double sum;
        private long count;

        Histogram(double[] bounds) {
            this.bounds = bounds;
            this.counts = new long[bounds.length];
        }

        synchronized void observe(double v) {
            for (int i = 0; i < bounds.length; i++) {
                if (v <= bounds[i]) {
                    counts[i]++;
                }
            }
            sum += v;
            count++;
        }

        synchronized long count() {
            return count;
        }

        synchronized void write(StringBuilder out, String name, String labels) {
            for (int i = 0; i < bounds.length; i++) {
                out.append(name).append("_bucket{").append(labels).append(",le=\"").append(num(bounds[i]))
                        .append("\"} ").append(counts[i]).append('\n');
            }
            out.append(name).append("_bucket{").append(labels).append(",le=\"+Inf\"} ").append(count).append('\n');
            out.append(name).append("_sum{").append(labels).append("} ").append(num(sum)).append('\n');
            out.append(name).append("_count{").append(labels).append("} ").append(count).append('\n');
        }
    }

    private final String modelName;
    private final Supplier<EngineMetrics> engine;
    private final LongAdder promptTokens = new LongAdder();
    private final Map<FinishReason, LongAdder> finished = new EnumMap<>(FinishReason.class);
    private final LongAdder failed = new LongAdder();
    private final LongAdder rejected = new LongAdder();
    final Histogram ttft = new Histogram(TTFT_BUCKETS);
    final Histogram tpot = new Histogram(TPOT_BUCKETS);
    final Histogram e2e = new Histogram(E2E_BUCKETS);

    public ServerMetrics(String modelName, Supplier<EngineMetrics> engine) {
        this.modelName = modelName;
        this.engine = engine;
        for (FinishReason r : FinishReason.values()) {
            finished.put(r, new LongAdder());
        }
    }

    void promptTokens(int n) {
        promptTokens.add(n);
    }

    /** One choice (sequence) ended. */
    void finished(FinishReason reason) {
        finished.get(reason).increment();
    }

    /** A request failed inside the engine. */
    void failed() {
        failed.increment();
    }

    /** A request refused with 503. */
    void rejected() {
        rejected.increment();
    }

    long finishedCount(FinishReason reason) {
        return finished.get(reason).sum();
    }

    /** One finished request's latencies, in seconds; tpot &lt; 0 when it produced fewer than two tokens. */
    void latencies(double ttftSeconds, double tpotSeconds, double e2eSeconds) {
        if (ttftSeconds >= 0) {
            ttft.observe(ttftSeconds);
        }
        if (tpotSeconds >= 0) {
            tpot.observe(tpotSeconds);
        }
        e2e.observe(e2eSeconds);
    }

    /** The exposition text (format 0.0.4). */
    public String render() {
        EngineMetrics m = engine.get();
        String l = "model_name=\"" + escape(modelName) + "\"";
        StringBuilder out = new StringBuilder(8192);
        gauge(out, "jlight:num_requests_running", "Sequences in the running batch.", l, m.running());
        gauge(out, "jlight:num_requests_waiting", "Sequences waiting to be scheduled (preempted ones included).", l,
                m.waiting());
        gauge(out, "jlight:kv_cache_usage_perc", "KV cache usage: fraction of blocks held by sequences (1 = full).",
                l, m.kvUsage());
        counter(out, "jlight:prefix_cache_queries", "Prompt tokens looked up in the prefix cache.", l,
                m.prefixCacheQueried());
        counter(out, "jlight:prefix_cache_hits", "Prompt tokens found in the prefix cache.", l, m.prefixCacheHits());
        counter(out, "jlight:num_preemptions", "Sequences preempted (freed and recomputed later).", l,
                m.preemptions());
        counter(out, "jlight:engine_steps", "Engine steps (one batch through the model each).", l, m.steps());
        counter(out, "jlight:engine_async_steps", "Engine steps launched overlapped with the host's work around them "
                + "(async scheduling).", l, m.asyncSteps());
        counter(out, "jlight:prompt_tokens", "Prompt tokens of admitted requests.", l, promptTokens.sum());
        counter(out, "jlight:generation_tokens", "Tokens generated.", l, m.generatedTokens());
        out.append("# HELP jlight:request_success Finished sequences by finish reason.\n");
        out.append("# TYPE jlight:request_success counter\n");
        for (Map.Entry<FinishReason, LongAdder> e : finished.entrySet()) {
            out.append("jlight:request_success_total{").append(l).append(",finished_reason=\"")
                    .append(e.getKey().wireName()).append("\"} ").append(e.getValue().sum()).append('\n');
        }
        counter(out, "jlight:request_failure", "Requests that failed inside the engine.", l, failed.sum());
        counter(out, "jlight:request_rejected", "Requests refused with 503 (overloaded or shutting down).", l,
                rejected.sum());
        histogram(out, "jlight:time_to_first_token_seconds", "Time to first token.", l, ttft);
        histogram(out, "jlight:time_per_output_token_seconds", "Mean time per output token after the first, per request.",
                l, tpot);
        histogram(out, "jlight:e2e_request_latency_seconds", "End-to-end request latency.", l, e2e);
        return out.toString();
    }

    private static void gauge(StringBuilder out, String name, String help, String labels, double v) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(" gauge\n");
        out.append(name).append('{').append(labels).append("} ").append(num(v)).append('\n');
    }

    private static void counter(StringBuilder out, String name, String help, String labels, long v) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(" counter\n");
        out.append(name).append("_total{").append(labels).append("} ").append(v).append('\n');
    }

    private static void histogram(StringBuilder out, String name, String help, String labels, Histogram h) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(" histogram\n");
        h.write(out, name, labels);
    }

    static String num(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v) + ".0";
        }
        return String.format(Locale.ROOT, "%s", v);
    }

    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
