package dev.jlight.server.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.jlight.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.ToIntFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code jlight bench serve}: vLLM's benchmark_serving.py against any OpenAI-compatible server. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Online serving benchmark (vLLM benchmark_serving.py semantics) against an OpenAI-compatible server.")
public final class BenchServeCommand implements Callable<Integer> {
    @Option(names = "--base-url", defaultValue = "http://127.0.0.1:8000", description = "Server URL. Default: ${DEFAULT-VALUE}")
    String baseUrl;

    @Option(names = "--model", required = true, description = "Model name sent in the requests.")
    String model;

    @Option(names = "--endpoint", defaultValue = "/v1/completions",
            description = "/v1/completions or /v1/chat/completions. Default: ${DEFAULT-VALUE}")
    String endpoint;

    @Option(names = "--dataset", defaultValue = "random",
            description = "random, sharegpt-like (log-normal lengths, mean about 202 in / 179 out, real text) or file. "
                    + "Default: ${DEFAULT-VALUE}")
    String dataset;

    @Option(names = "--sharegpt-output-len", defaultValue = "0",
            description = "sharegpt-like: this output length for every prompt instead of the drawn ones (0: drawn).")
    int sharegptOutputLen;

    @Option(names = "--dataset-path", description = "JSONL file, one {\"prompt\": ..., \"output_len\": ...} a line (--dataset file).")
    Path datasetPath;

    @Option(names = "--num-prompts", defaultValue = "1000", description = "Default: ${DEFAULT-VALUE}")
    int numPrompts;

    @Option(names = "--random-input-len", defaultValue = "1024", description = "Default: ${DEFAULT-VALUE}")
    int randomInputLen;

    @Option(names = "--random-output-len", defaultValue = "128",
            description = "Also the output length of file prompts without output_len. Default: ${DEFAULT-VALUE}")
    int randomOutputLen;

    @Option(names = "--random-range-ratio", defaultValue = "0.0",
            description = "Lengths uniform in [len·(1−r), len·(1+r)]. Default: ${DEFAULT-VALUE}")
    double randomRangeRatio;

    @Option(names = "--random-prefix-len", defaultValue = "0", description = "Shared random prefix tokens. Default: ${DEFAULT-VALUE}")
    int randomPrefixLen;

    @Option(names = "--request-rate", split = ",", defaultValue = "inf",
            description = "Requests per second, or inf; a list (1,2,4,8,inf) runs one benchmark per rate and plots "
                    + "TTFT/TPOT against the achieved QPS. Default: ${DEFAULT-VALUE}")
    List<String> requestRates;

    @Option(names = "--burstiness", defaultValue = "1.0",
            description = "Gamma shape of the inter-arrival times (1 = Poisson). Default: ${DEFAULT-VALUE}")
    double burstiness;

    @Option(names = "--max-concurrency", description = "At most this many requests in flight.")
    Integer maxConcurrency;

    @Option(names = "--ignore-eos", description = "Send ignore_eos: true (vLLM extension).")
    boolean ignoreEos;

    @Option(names = "--seed", defaultValue = "0", description = "Default: ${DEFAULT-VALUE}")
    long seed;

    @Option(names = "--api-key", description = "Bearer token (default: $OPENAI_API_KEY).")
    String apiKey;

    @Option(names = "--tokenizer", description = "HF model folder whose tokenizer makes and counts the prompts.")
    Path tokenizer;

    @Option(names = "--prompt-token-ids",
            description = "With --tokenizer and /v1/completions: send random prompts as token id lists (exact lengths).")
    boolean promptTokenIds;

    @Option(names = "--goodput", arity = "1..*", description = "SLOs for goodput: ttft:MS tpot:MS e2el:MS.")
    List<String> goodput;

    @Option(names = "--percentile-metrics", split = ",", defaultValue = "ttft,tpot,itl,e2el",
            description = "Default: ${DEFAULT-VALUE}")
    List<String> percentileMetrics;

    @Option(names = "--metric-percentiles", split = ",", defaultValue = "95,99", description = "Default: ${DEFAULT-VALUE}")
    List<Double> metricPercentiles;

    @Option(names = "--result-dir", description = "Write the result JSON (and a latency CDF PNG) here.")
    Path resultDir;

    @Option(names = "--result-filename", description = "Name of the result JSON (default like vLLM's).")
    String resultFilename;

    @Option(names = "--save-detailed", description = "Also save generated_texts and errors per request.")
    boolean saveDetailed;

    @Option(names = "--no-plot", description = "Write no PNG.")
    boolean noPlot;

    @Option(names = "--results-md", description = "Append the per-rate summary (QPS, TTFT/TPOT mean and P95) to this Markdown file.")
    Path resultsMd;

    @Option(names = "--skip-initial-test", description = "Skip the single-prompt test run before the benchmark.")
    boolean skipInitialTest;

    /** The result fields of the last rate, set by {@link #call()} for tests. */
    Map<String, Object> result;

    /** One summary per rate, in the order run, set by {@link #call()}. */
    List<SweepPoint> sweep;

    @Override
    public Integer call() throws Exception {
        List<Double> rates = new ArrayList<>();
        for (String r : requestRates) {
            rates.add(parseRate(r));
        }
        if (!endpoint.equals("/v1/completions") && !endpoint.equals("/v1/chat/completions")) {
            throw new IllegalArgumentException("--endpoint must be /v1/completions or /v1/chat/completions");
        }
        if (numPrompts < 1) {
            throw new IllegalArgumentException("--num-prompts must be >= 1");
        }
        if (maxConcurrency != null && maxConcurrency < 1) {
            throw new IllegalArgumentException("--max-concurrency must be >= 1");
        }
        if (promptTokenIds && (tokenizer == null || !endpoint.equals("/v1/completions"))) {
            throw new IllegalArgumentException("--prompt-token-ids needs --tokenizer and --endpoint /v1/completions");
        }
        Map<String, Double> slos = ServeMetrics.parseGoodput(goodput);
        for (String m : percentileMetrics) {
            new ServeMetrics().series(m);
        }
        String key = apiKey != null ? apiKey : System.getenv("OPENAI_API_KEY");
        Tokenizer tok = tokenizer == null ? null : Tokenizer.load(tokenizer);
        try {
            List<BenchRequest> reqs = switch (dataset) {
                case "random" -> Datasets.random(numPrompts, randomInputLen, randomOutputLen, randomRangeRatio,
                        randomPrefixLen, seed, tok);
                case "sharegpt-like" -> ShareGptLike.requests(numPrompts, sharegptOutputLen, seed, tok);
                case "file" -> {
                    if (datasetPath == null) {
                        throw new IllegalArgumentException("--dataset file needs --dataset-path");
                    }
                    yield Datasets.file(datasetPath, numPrompts, randomOutputLen, tok);
                }
                default -> throw new IllegalArgumentException("--dataset must be random, sharegpt-like or file, got " + dataset);
            };
            SseClient client = new SseClient(baseUrl, endpoint, model, ignoreEos, key, promptTokenIds);
            if (!skipInitialTest) {
                System.out.println("Starting initial single prompt test run...");
                RequestResult t = client.send(reqs.get(0));
                if (!t.success()) {
                    System.err.println("Initial test run failed: " + t.error());
                    return 1;
                }
                System.out.println("Initial test run completed. Starting main benchmark run...");
            }
            ToIntFunction<String> count = tok == null ? null : s -> tok.encode(s, false).length;
            sweep = new ArrayList<>();
            boolean allCompleted = true;
            for (double rate : rates) {
                System.out.printf(Locale.ROOT, "Traffic request rate: %s%n", rateText(rate));
                System.out.printf(Locale.ROOT, "Burstiness factor: %s (%s)%n", burstiness,
                        burstiness == 1.0 ? "Poisson process" : "Gamma distribution");
                System.out.printf(Locale.ROOT, "Maximum request concurrency: %s%n",
                        maxConcurrency == null ? "None" : maxConcurrency);
                ServeBenchmark.Run run = ServeBenchmark.run(client, reqs, rate, burstiness, seed, maxConcurrency, count,
                        System.err);
                ServeMetrics m = ServeMetrics.compute(run.requests(), run.results(), run.durationS(), slos);
                System.out.print(m.table(rateText(rate), maxConcurrency, percentileMetrics, metricPercentiles));
                result = resultJson(run, m, rate);
                sweep.add(SweepPoint.of(rate, m));
                if (m.failed > 0) {
                    run.results().stream().filter(r -> !r.success()).limit(3)
                            .forEach(r -> System.err.println("failed request: " + r.error()));
                }
                if (resultDir != null) {
                    write(result, m);
                }
                allCompleted &= m.completed > 0;
            }
            if (rates.size() > 1) {
                System.out.println("Sweep (achieved QPS, TTFT and TPOT in ms):");
                System.out.println(SweepPoint.MD_HEADER);
                sweep.forEach(p -> System.out.println(p.mdRow()));
                if (resultDir != null && !noPlot) {
                    writeSweepPlot();
                }
            }
            if (resultsMd != null) {
                appendMarkdown();
            }
            return allCompleted ? 0 : 1;
        } finally {
            if (tok != null) {
                tok.close();
            }
        }
    }

    static double parseRate(String r) {
        String t = r.trim();
        double v;
        try {
            v = t.equalsIgnoreCase("inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--request-rate takes numbers or inf, comma-separated; got " + r);
        }
        if (!(v > 0)) {
            throw new IllegalArgumentException("--request-rate must be > 0 or inf, got " + r);
        }
        return v;
    }

    private String baseModel() {
        return model.substring(model.lastIndexOf('/') + 1);
    }

    private void writeSweepPlot() throws IOException {
        Files.createDirectories(resultDir);
        String date = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Path png = resultDir.resolve("jlight-sweep" + (maxConcurrency == null ? "" : "-concurrency" + maxConcurrency)
                + "-" + baseModel() + "-" + date + ".png");
        try {
            SweepPlot.write(png, "TTFT and TPOT vs QPS: " + model + " (" + dataset + ", " + numPrompts + " prompts)",
                    sweep);
            System.out.println("Sweep plot written to " + png);
        } catch (Throwable e) {    // no AWT in this JVM: the numbers are already saved
            System.err.println("no plot: " + e);
        }
    }

    /** The per-rate rows under a comment naming date, commit, hardware and the command's settings. */
    private void appendMarkdown() throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add("");
        lines.add(RunStamp.markdownStamp("serve", ", server " + baseUrl + ", model " + model + ", dataset " + dataset
                + ", " + numPrompts + " prompts" + (maxConcurrency == null ? "" : ", max concurrency " + maxConcurrency)
                + ", seed " + seed + (ignoreEos ? ", ignore_eos" : "")));
        lines.add(SweepPoint.MD_HEADER);
        sweep.forEach(p -> lines.add(p.mdRow()));
        RunStamp.appendMarkdown(resultsMd, lines);
        System.out.println("Summary appended to " + resultsMd);
    }

    static String rateText(double rate) {
        return Double.isInfinite(rate) ? "inf" : String.valueOf(rate);
    }

    private Map<String, Object> resultJson(ServeBenchmark.Run run, ServeMetrics m, double rate) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("date", LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        r.put("backend", "openai" + (endpoint.endsWith("chat/completions") ? "-chat" : ""));
        r.put("model_id", model);
        r.put("tokenizer_id", tokenizer == null ? null : tokenizer.toString());
        r.put("num_prompts", numPrompts);
        r.put("request_rate", Double.isInfinite(rate) ? "inf" : rate);
        r.put("burstiness", burstiness);
        r.put("max_concurrency", maxConcurrency);
        r.put("duration", m.duration);
        r.put("completed", m.completed);
        r.put("failed", m.failed);
        r.put("total_input_tokens", m.totalInput);
        r.put("total_output_tokens", m.totalOutput);
        r.put("request_throughput", m.requestThroughput);
        r.put("request_goodput", m.requestGoodput);
        r.put("output_throughput", m.outputThroughput);
        r.put("total_token_throughput", m.totalTokenThroughput);
        m.putLatencyFields(r, percentileMetrics, metricPercentiles);
        r.put("input_lens", m.inputLens);
        r.put("output_lens", m.outputLens);
        r.put("ttfts", run.results().stream().map(RequestResult::ttft).toList());
        r.put("itls", run.results().stream().map(RequestResult::itl).toList());
        if (saveDetailed) {
            r.put("generated_texts", run.results().stream().map(RequestResult::text).toList());
            r.put("errors", run.results().stream().map(RequestResult::error).toList());
        }
        return r;
    }

    private void write(Map<String, Object> r, ServeMetrics m) throws IOException {
        Files.createDirectories(resultDir);
        String name = resultFilename;
        if (name == null) {
            name = "jlight-" + r.get("request_rate") + "qps" + (maxConcurrency == null ? "" : "-concurrency" + maxConcurrency)
                    + "-" + baseModel() + "-" + r.get("date") + ".json";
        }
        Path json = resultDir.resolve(name);
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(), r);
        System.out.println("Results written to " + json);
        if (!noPlot) {
            Path png = resultDir.resolve(name.replaceFirst("\\.json$", "") + "-cdf.png");
            List<String> names = new ArrayList<>();
            List<List<Double>> series = new ArrayList<>();
            for (String metric : percentileMetrics) {
                names.add(metric.toUpperCase(Locale.ROOT));
                series.add(m.series(metric));
            }
            try {
                CdfPlot.write(png, "Latency CDF: " + model, names, series);
                System.out.println("Latency CDF plot written to " + png);
            } catch (Throwable e) {    // no AWT in this JVM: the numbers are already saved
                System.err.println("no plot: " + e);
            }
        }
    }
}
