package dev.jlight.server.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * A fake OpenAI-compatible server streams K content chunks, the first after FIRST_MS and the
 * others INTER_MS apart, then a finish chunk and a usage chunk: the benchmark must measure those delays.
 */
class FakeServerTest {
    static final int K = 6;
    static final long FIRST_MS = 120;
    static final long INTER_MS = 25;
    /**
     * A measured delay can't be shorter than the configured one (less {@code EARLY_MS} of timer
     * slack) but can be longer: on a shared 2-core machine (load average 50 seen) scheduling adds
     * 5 to 50 ms to a request's first chunk, a few ms to a gap. The upper bounds still tell the
     * metrics apart: TTFT + 60 ms is below the E2E latency (245 ms), a gap + 10 ms is below two gaps.
     */
    static final double EARLY_MS = 2;
    static final double LATE_TTFT_MS = 60;
    static final double LATE_GAP_MS = 10;

    static void near(double configured, double measured, double late, String what) {
        assertTrue(measured >= configured - EARLY_MS && measured <= configured + late,
                what + ": measured " + measured + " ms for configured " + configured + " ms");
    }

    static HttpServer server;
    static String url;
    static final AtomicInteger inFlight = new AtomicInteger();
    static final AtomicInteger maxInFlight = new AtomicInteger();
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void start() throws IOException {
        System.setProperty("sun.net.httpserver.nodelay", "true");   // no Nagle delay on the first chunk
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/v1/completions", ex -> handle(ex, false));
        server.createContext("/v1/chat/completions", ex -> handle(ex, true));
        server.start();
        url = "http://127.0.0.1:" + server.getAddress().getPort();
        // warm the JIT on both sides, as vLLM's initial test run does: cold class loading costs ~0.5 s
        for (String ep : List.of("/v1/completions", "/v1/chat/completions")) {
            try {
                ServeBenchmark.run(new SseClient(url, ep, "fake", false, null),
                        Datasets.random(8, 8, K, 0, 0, 0, null), Double.POSITIVE_INFINITY, 1, 0, 8, null, null);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    @AfterAll
    static void stop() {
        server.stop(0);
    }

    static void handle(HttpExchange ex, boolean chat) throws IOException {
        int now = inFlight.incrementAndGet();
        maxInFlight.accumulateAndGet(now, Math::max);
        try (ex) {
            JsonNode req = JSON.readTree(ex.getRequestBody());
            if (!req.path("stream").asBoolean() || !req.path("stream_options").path("include_usage").asBoolean()) {
                ex.sendResponseHeaders(400, -1);
                return;
            }
            ex.getResponseHeaders().set("Content-Type", "text/event-stream");
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            if (chat) {   // a role-only chunk at once: not a token, must not count as the first token
                send(out, "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}");
            }
            for (int i = 0; i < K; i++) {
                sleep(i == 0 ? FIRST_MS : INTER_MS);
                String piece = "tok" + i + " ";
                send(out, chat ? "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + piece + "\"}}]}"
                        : "{\"choices\":[{\"index\":0,\"text\":\"" + piece + "\"}]}");
            }
            send(out, chat ? "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}"
                    : "{\"choices\":[{\"index\":0,\"text\":\"\",\"finish_reason\":\"length\"}]}");
            send(out, "{\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":" + K
                    + ",\"total_tokens\":" + (11 + K) + "}}");
            out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
        } finally {
            inFlight.decrementAndGet();
        }
    }

    static void send(OutputStream out, String json) throws IOException {
        out.write(("data: " + json + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void check(ServeMetrics m, int n) {
        assertEquals(n, m.completed);
        assertEquals(0, m.failed);
        assertEquals((long) n * K, m.totalOutput);
        assertEquals(11L * n, m.totalInput);        // no tokenizer: the server's prompt_tokens
        double ttft = Stats.mean(ServeMetrics.arr(m.ttfts)) * 1e3;
        double tpot = Stats.mean(ServeMetrics.arr(m.tpots)) * 1e3;
        double itl = Stats.mean(ServeMetrics.arr(m.itls)) * 1e3;
        double e2e = Stats.mean(ServeMetrics.arr(m.e2els)) * 1e3;
        String got = m.ttfts + " ttft " + ttft + " tpot " + tpot + " itl " + itl + " e2e " + e2e;
        near(FIRST_MS, ttft, LATE_TTFT_MS, "mean TTFT " + got);
        near(INTER_MS, tpot, LATE_GAP_MS, "mean TPOT " + got);
        near(INTER_MS, itl, LATE_GAP_MS, "mean ITL " + got);
        near(FIRST_MS + (K - 1) * INTER_MS, e2e, LATE_TTFT_MS + (K - 1) * LATE_GAP_MS, "mean E2EL " + got);
        assertEquals((long) n * (K - 1), m.itls.size());
    }

    @Test
    void completionsDelaysAndThroughputUnderAConcurrencyCap() throws Exception {
        int n = 16;
        int c = 4;
        maxInFlight.set(0);
        List<BenchRequest> reqs = Datasets.random(n, 32, K, 0, 0, 0, null);
        SseClient client = new SseClient(url, "/v1/completions", "fake", true, null);
        ServeBenchmark.Run run = ServeBenchmark.run(client, reqs, Double.POSITIVE_INFINITY, 1, 0, c, null, null);
        ServeMetrics m = ServeMetrics.compute(run.requests(), run.results(), run.durationS(), java.util.Map.of());
        check(m, n);
        // n / c waves of one request's e2e each: throughput ≈ c / e2e
        // n / c waves, each as long as one request: throughput = c / e2e, with e2e as measured
        double e2e = Stats.mean(ServeMetrics.arr(m.e2els));
        double expected = c / e2e;
        assertTrue(m.requestThroughput <= expected * 1.05 && m.requestThroughput > expected * 0.8,
                m.requestThroughput + " req/s vs " + expected);
        assertTrue(maxInFlight.get() <= c, "in flight " + maxInFlight.get());
        assertEquals(c, maxInFlight.get());
    }

    @Test
    void chatIgnoresTheRoleChunkAndTheCommandWritesVllmFields(@TempDir Path dir) throws Exception {
        BenchServeCommand cmd = new BenchServeCommand();
        int rc = new CommandLine(cmd).execute("--base-url", url, "--model", "org/fake-model", "--endpoint",
                "/v1/chat/completions", "--num-prompts", "10", "--random-input-len", "20", "--random-output-len",
                String.valueOf(K), "--request-rate", "50", "--burstiness", "1.0", "--seed", "3",
                "--goodput", "ttft:1000", "e2el:1", "--result-dir", dir.toString());
        assertEquals(0, rc);
        var r = cmd.result;
        assertEquals(10, r.get("completed"));
        assertEquals(10L * K, r.get("total_output_tokens"));
        assertEquals(0.0, (Double) r.get("request_goodput"));    // nothing ends within 1 ms
        near(FIRST_MS, (Double) r.get("mean_ttft_ms"), LATE_TTFT_MS, "mean TTFT " + r.get("ttfts"));
        near(INTER_MS, (Double) r.get("mean_itl_ms"), LATE_GAP_MS, "mean ITL");
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.toList();
        }
        Path json = files.stream().filter(p -> p.toString().endsWith(".json")).findFirst().orElseThrow();
        assertTrue(json.getFileName().toString().startsWith("jlight-50.0qps-fake-model-"), json.toString());
        JsonNode j = JSON.readTree(json.toFile());
        for (String f : List.of("completed", "total_input_tokens", "total_output_tokens", "request_throughput",
                "output_throughput", "total_token_throughput", "mean_ttft_ms", "median_ttft_ms", "p99_ttft_ms",
                "mean_tpot_ms", "median_tpot_ms", "p99_tpot_ms", "mean_itl_ms", "p95_itl_ms", "mean_e2el_ms",
                "p99_e2el_ms", "std_ttft_ms", "duration")) {
            assertTrue(j.has(f), f);
        }
        assertEquals(10, j.get("ttfts").size());
        assertEquals(10, j.get("itls").size());
        assertEquals(K - 1, j.get("itls").get(0).size());
        assertEquals(10, j.get("input_lens").size());
        assertEquals(10, j.get("output_lens").size());
        Path png = files.stream().filter(p -> p.toString().endsWith(".png")).findFirst().orElseThrow();
        assertTrue(Files.size(png) > 1000);
    }

    @Test
    void sweepWithShareGptLikePromptsWritesOneJsonPerRateAndAQpsPlot(@TempDir Path dir) throws Exception {
        BenchServeCommand cmd = new BenchServeCommand();
        Path md = dir.resolve("bench.md");
        int rc = new CommandLine(cmd).execute("--base-url", url, "--model", "org/fake-model", "--dataset",
                "sharegpt-like", "--num-prompts", "10", "--request-rate", "5,inf", "--seed", "4", "--max-concurrency", "4",
                "--result-dir", dir.toString(), "--results-md", md.toString());
        assertEquals(0, rc);
        assertEquals(2, cmd.sweep.size());
        SweepPoint slow = cmd.sweep.get(0);
        SweepPoint all = cmd.sweep.get(1);
        assertEquals(5.0, slow.rate());
        assertTrue(Double.isInfinite(all.rate()));
        for (SweepPoint p : cmd.sweep) {      // the server's delays, whatever the rate
            assertEquals(10, p.completed());
            near(FIRST_MS, p.ttftMeanMs(), LATE_TTFT_MS, "TTFT mean " + p);
            near(INTER_MS, p.tpotMeanMs(), LATE_GAP_MS, "TPOT mean " + p);
            near(FIRST_MS, p.ttftP95Ms(), LATE_TTFT_MS * 2, "TTFT P95 " + p);
            near(INTER_MS, p.tpotP95Ms(), LATE_GAP_MS * 2, "TPOT P95 " + p);
        }
        // 5 req/s: the run lasts the 9 seeded Poisson gaps plus the last request's E2E latency
        // (a wait for one of the 4 slots, rare at 0.2 s mean gaps, only lengthens the run: within the lower bound)
        Arrivals gaps = new Arrivals(5, 1, 4);
        double schedule = 0;
        for (int i = 0; i < 9; i++) {
            schedule += gaps.nextInterval();
        }
        double e2e = (FIRST_MS + (K - 1) * INTER_MS) / 1e3;
        double fastest = 10 / (schedule + e2e - EARLY_MS / 1e3);
        double slowest = 10 / (schedule + e2e + 0.4);        // scheduling slack on a loaded machine
        assertTrue(slow.qps() <= fastest && slow.qps() >= slowest,
                "5 req/s: achieved " + slow.qps() + ", schedule allows " + slowest + " to " + fastest);
        // inf with at most 4 in flight: waves of 4, each one request's E2E latency long
        assertTrue(all.qps() <= 4 / (e2e - EARLY_MS / 1e3) && all.qps() > slow.qps(), "inf: " + all.qps() + " req/s");
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.map(Path::getFileName).toList();
        }
        assertTrue(files.stream().anyMatch(f -> f.toString().startsWith("jlight-5.0qps-concurrency4-fake-model-")
                && f.toString().endsWith(".json")), files.toString());
        assertTrue(files.stream().anyMatch(f -> f.toString().startsWith("jlight-infqps-concurrency4-fake-model-")
                && f.toString().endsWith(".json")), files.toString());
        Path sweepPng = files.stream().filter(f -> f.toString().startsWith("jlight-sweep-concurrency4-fake-model-")).findFirst()
                .map(dir::resolve).orElseThrow(() -> new AssertionError(files.toString()));
        assertTrue(Files.size(sweepPng) > 1000);
        List<String> rows = Files.readAllLines(md);
        assertTrue(rows.get(1).startsWith("<!-- jlight bench serve ") && rows.get(1).contains("dataset sharegpt-like"),
                rows.get(1));
        assertEquals(2, rows.stream().filter(l -> l.startsWith("| 5.0 |") || l.startsWith("| inf |")).count(),
                rows.toString());
        // sharegpt-like without a tokenizer: prompts are corpus words, the server's usage counts them
        JsonNode j = JSON.readTree(dir.resolve(files.stream().filter(f -> f.toString().startsWith("jlight-infqps-concurrency4")
                && f.toString().endsWith(".json")).findFirst().orElseThrow()).toFile());
        assertEquals(11L * 10, j.get("total_input_tokens").asLong());
    }
}
