package dev.jlight.server.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToIntFunction;

/**
 * vLLM's benchmark loop: requests leave at gamma-distributed times (or all at once), each on its
 * own virtual thread, at most {@code maxConcurrency} in flight; duration is from the first send
 * to the last response.
 */
public final class ServeBenchmark {
    /** The run: its requests, their results in the same order, and the wall time. */
    public record Run(List<BenchRequest> requests, List<RequestResult> results, double durationS) {
    }

    private ServeBenchmark() {
    }

    /**
     * @param maxConcurrency null for no cap
     * @param countTokens    counts the output tokens of a text when the server gives no usage; may be null
     * @param progress       where the progress line goes; may be null
     */
    public static Run run(SseClient client, List<BenchRequest> reqs, double rate, double burstiness, long seed,
                          Integer maxConcurrency, ToIntFunction<String> countTokens, PrintStream progress)
            throws InterruptedException {
        Arrivals arrivals = new Arrivals(rate, burstiness, seed);
        Semaphore sem = maxConcurrency == null ? null : new Semaphore(maxConcurrency);
        int n = reqs.size();
        AtomicInteger done = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        List<Future<RequestResult>> futures = new ArrayList<>(n);
        long t0 = System.nanoTime();
        Object lock = new Object();
        try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < n; i++) {
                BenchRequest r = reqs.get(i);
                futures.add(ex.submit(() -> {
                    if (sem != null) {
                        sem.acquire();
                    }
                    RequestResult o;
                    try {
                        o = client.send(r);
                    } finally {
                        if (sem != null) {
                            sem.release();
                        }
                    }
                    if (o.success() && o.outputTokens() <= 0 && countTokens != null) {
                        o = new RequestResult(true, o.ttft(), o.itl(), o.latency(), countTokens.applyAsInt(o.text()),
                                o.promptTokens(), o.text(), o.error());
                    }
                    int d = done.incrementAndGet();
                    int f = o.success() ? failed.get() : failed.incrementAndGet();
                    if (progress != null) {
                        synchronized (lock) {
                            progress.printf(Locale.ROOT, "\r%d/%d requests done, %d failed, %.1f s", d, n, f,
                                    (System.nanoTime() - t0) / 1e9);
                            progress.flush();
                        }
                    }
                    return o;
                }));
                if (i + 1 < n) {
                    double wait = arrivals.nextInterval();
                    if (wait > 0) {
                        Thread.sleep((long) (wait * 1000), (int) ((wait * 1e9) % 1_000_000));
                    }
                }
            }
        }
        double duration = (System.nanoTime() - t0) / 1e9;
        if (progress != null) {
            progress.println();
        }
        List<RequestResult> results = new ArrayList<>(n);
        for (Future<RequestResult> f : futures) {
            try {
                results.add(f.get());
            } catch (java.util.concurrent.ExecutionException e) {
                results.add(RequestResult.failed(String.valueOf(e.getCause())));
            }
        }
        return new Run(reqs, results, duration);
    }
}
