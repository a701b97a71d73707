package dev.jlight.server.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StatsTest {
    @Test
    void numpyPercentilesOnAKnownSample() {
        double[] x = {7, 1, 10, 3, 2, 9, 4, 8, 6, 5};     // 1..10 shuffled
        assertEquals(5.5, Stats.mean(x), 1e-12);
        assertEquals(5.5, Stats.median(x), 1e-12);
        assertEquals(9.55, Stats.percentile(x, 95), 1e-12);   // numpy.percentile(range(1, 11), 95)
        assertEquals(9.91, Stats.percentile(x, 99), 1e-12);
        assertEquals(1.0, Stats.percentile(x, 0), 1e-12);
        assertEquals(10.0, Stats.percentile(x, 100), 1e-12);
        assertEquals(2.0, Stats.std(new double[]{2, 4, 4, 4, 5, 5, 7, 9}), 1e-12);
        assertEquals(3.0, Stats.median(new double[]{5, 1, 3}), 1e-12);
        assertEquals(0.0, Stats.percentile(new double[0], 99));
        assertEquals(0.0, Stats.mean(new double[0]));
    }

    @Test
    void metricsFollowVllmCalculateMetrics() {
        List<BenchRequest> reqs = List.of(new BenchRequest("a", 10, 5), new BenchRequest("b", -1, 5),
                new BenchRequest("c", 7, 5), new BenchRequest("d", 3, 1));
        List<RequestResult> outs = List.of(
                new RequestResult(true, 0.100, List.of(0.02, 0.02, 0.02, 0.02), 0.180, 5, 10, "xxxxx", ""),
                new RequestResult(true, 0.300, List.of(0.05, 0.05, 0.05, 0.05), 0.500, 5, 12, "yyyyy", ""),
                RequestResult.failed("boom"),
                new RequestResult(true, 0.050, List.of(), 0.050, 1, 3, "z", ""));
        ServeMetrics m = ServeMetrics.compute(reqs, outs, 2.0, Map.of("ttft", 200.0));
        assertEquals(3, m.completed);
        assertEquals(1, m.failed);
        assertEquals(10 + 12 + 3, m.totalInput);       // the server's prompt_tokens where the dataset has no length
        assertEquals(11, m.totalOutput);
        assertEquals(1.5, m.requestThroughput, 1e-12);
        assertEquals(5.5, m.outputThroughput, 1e-12);
        assertEquals(18.0, m.totalTokenThroughput, 1e-12);
        assertEquals(1.0, m.requestGoodput, 1e-12);     // two of three under 200 ms TTFT
        assertEquals(List.of(0.02, 0.05), m.tpots.stream().map(v -> Math.round(v * 1e6) / 1e6).toList());
        assertEquals(8, m.itls.size());
        assertEquals(List.of(5, 5, 0, 1), m.outputLens);
        assertNull(ServeMetrics.compute(reqs, outs, 2.0, Map.of()).requestGoodput);

        String t = m.table("inf", 4, List.of("ttft", "tpot", "itl", "e2el"), List.of(95.0, 99.0));
        assertTrue(t.startsWith("============ Serving Benchmark Result ============\n"), t);
        assertTrue(t.contains("---------------Time to First Token----------------\n"), t);
        assertTrue(t.contains("-----Time per Output Token (excl. 1st token)------\n"), t);
        assertTrue(t.contains("Successful requests:                     3"), t);
        assertTrue(t.contains("Request goodput (req/s):                 1.00"), t);
        assertTrue(t.contains("Mean TTFT (ms):                          150.00"), t);
        assertTrue(t.contains("Median TPOT (ms):                        35.00"), t);
        assertTrue(t.contains("P99 E2EL (ms):"), t);
        assertTrue(t.endsWith("=".repeat(50) + "\n"), t);
    }

    @Test
    void goodputSpecs() {
        assertEquals(Map.of("ttft", 100.0, "e2el", 2000.0), ServeMetrics.parseGoodput(List.of("ttft:100", "e2el:2000")));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> ServeMetrics.parseGoodput(List.of("foo:1")));
    }
}
