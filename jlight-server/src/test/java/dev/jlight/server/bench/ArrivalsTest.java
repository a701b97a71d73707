package dev.jlight.server.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Gamma inter-arrival times: mean 1/rate for every burstiness, squared coefficient of variation 1/burstiness. */
class ArrivalsTest {
    static double[] stats(double rate, double burstiness) {
        Arrivals a = new Arrivals(rate, burstiness, 42);
        int n = 200_000;
        double s = 0;
        double s2 = 0;
        for (int i = 0; i < n; i++) {
            double x = a.nextInterval();
            s += x;
            s2 += x * x;
        }
        double mean = s / n;
        double var = s2 / n - mean * mean;
        return new double[]{mean, var / (mean * mean)};
    }

    @Test
    void poisson() {
        double[] st = stats(10, 1.0);
        assertEquals(0.1, st[0], 0.002);
        assertEquals(1.0, st[1], 0.04);     // exponential gaps
    }

    @Test
    void bursty() {
        double[] st = stats(4, 0.5);
        assertEquals(0.25, st[0], 0.006);
        assertEquals(2.0, st[1], 0.12);
    }

    @Test
    void smooth() {
        double[] st = stats(50, 4.0);
        assertEquals(0.02, st[0], 0.0004);
        assertEquals(0.25, st[1], 0.015);
    }

    @Test
    void infiniteRateSendsAtOnce() {
        assertEquals(0.0, new Arrivals(Double.POSITIVE_INFINITY, 1.0, 1).nextInterval());
    }
}
