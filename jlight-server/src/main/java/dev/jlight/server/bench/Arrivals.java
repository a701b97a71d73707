package dev.jlight.server.bench;

import java.util.SplittableRandom;

/**
 * Inter-arrival times as vLLM's {@code get_request}: gamma with shape = burstiness and
 * scale = 1 / (rate × burstiness), so the mean is 1 / rate for every burstiness; burstiness 1 is
 * a Poisson process (exponential gaps), below 1 burstier, above 1 more uniform. Rate infinity
 * sends everything at once.
 */
public final class Arrivals {
    private final double rate;
    private final double burstiness;
    private final SplittableRandom rng;

    public Arrivals(double rate, double burstiness, long seed) {
        if (!(rate > 0)) {
            throw new IllegalArgumentException("--request-rate must be > 0 or inf, got " + rate);
        }
        if (!(burstiness > 0)) {
            throw new IllegalArgumentException("--burstiness must be > 0, got " + burstiness);
        }
        this.rate = rate;
        this.burstiness = burstiness;
        this.rng = new SplittableRandom(seed);
    }

    /** Seconds to wait before the next request. */
    public double nextInterval() {
        if (Double.isInfinite(rate)) {
            return 0;
        }
        return gamma(burstiness) / (rate * burstiness);
    }

    /** Gamma(shape, 1) by Marsaglia and Tsang; shape below 1 through the boost U^(1/shape). */
    double gamma(double shape) {
        if (shape < 1) {
            double u = rng.nextDouble();
            while (u == 0) {
                u = rng.nextDouble();
            }
            return gamma(shape + 1) * Math.pow(u, 1 / shape);
        }
        double d = shape - 1.0 / 3;
        double c = 1 / Math.sqrt(9 * d);
        while (true) {
            double x;
            double v;
            do {
                x = normal();
                v = 1 + c * x;
            } while (v <= 0);
            v = v * v * v;
            double u = rng.nextDouble();
            if (u < 1 - 0.0331 * x * x * x * x) {
                return d * v;
            }
            if (u > 0 && Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) {
                return d * v;
            }
        }
    }

    private double normal() {
        double u1;
        do {
            u1 = rng.nextDouble();
        } while (u1 == 0);
        double u2 = rng.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
}
