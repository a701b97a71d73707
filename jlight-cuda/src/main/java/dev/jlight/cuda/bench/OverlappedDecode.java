package dev.jlight.cuda.bench;

import dev.jlight.core.backend.KvCache;
import dev.jlight.core.model.DeviceSampling;
import dev.jlight.core.model.ForwardBatch;
import dev.jlight.core.model.Model;
import dev.jlight.core.model.PendingIds;
import java.util.Arrays;
import java.util.function.Function;

/**
 * The engine's overlapped decode loop, for LlamaDecodeBench: step i+1 is built and launched
 * ({@link Model#launchSampled}, its tokens taken on the device from step i's greedy picks through
 * {@link ForwardBatch#previousRows}) before step i is awaited, so the host's work of a step hides
 * behind the device's work of the one before. A step's time is the wall time between two awaits
 * (what the engine's loop sustains); its host time is building the batch plus the launch call.
 */
final class OverlappedDecode {
    /** Medians over the later half of the steps, in ms. */
    record Result(double msPerStep, double hostMsPerStep) {
    }

    private OverlappedDecode() {
    }

    /**
     * {@code next} appends one token per sequence (the given ids, placeholders after the first
     * step) and returns the step's batch, logit row s for sequence s.
     */
    static Result run(Model m, KvCache kv, int seqs, int steps, int[] firstTokens, Function<int[], ForwardBatch> next) {
        if (!m.launchesAsync()) {
            throw new IllegalStateException("the model does not launch asynchronously on " + m.backend().name());
        }
        DeviceSampling greedy = DeviceSampling.greedy(seqs);
        int[] placeholders = new int[seqs];
        int[] rows = new int[seqs];
        Arrays.setAll(rows, s -> s);
        double[] ms = new double[steps];
        double[] host = new double[steps];
        PendingIds inFlight = null;
        long last = System.nanoTime();
        for (int i = 0; i < steps; i++) {
            long t0 = System.nanoTime();
            ForwardBatch b = next.apply(i == 0 ? firstTokens : placeholders);
            if (i > 0) {
                b = new ForwardBatch(b.tokenIds(), b.positions(), b.attention(), b.logitRows(), rows);
            }
            PendingIds launched = m.launchSampled(b, kv, greedy);
            host[i] = (System.nanoTime() - t0) / 1e6;
            if (inFlight != null) {
                inFlight.await();
            }
            inFlight = launched;
            long now = System.nanoTime();
            ms[i] = (now - last) / 1e6;
            last = now;
        }
        inFlight.await();
        return new Result(LlamaDecodeBench.median(Arrays.copyOfRange(ms, steps / 2, steps)),
                LlamaDecodeBench.median(Arrays.copyOfRange(host, steps / 2, steps)));
    }
}
