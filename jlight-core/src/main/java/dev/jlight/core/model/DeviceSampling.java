package dev.jlight.core.model;

import java.util.Arrays;

/**
 * How a backend picks the token of each logit row of a step, for
 * {@link Model#forwardSampled}: per row a temperature (0 = greedy argmax, ties to the lowest
 * id), top_k (&lt;= 0 or &gt;= vocab: off), top_p (&gt;= 1: off), min_p (0: off) and a uniform
 * number in [0, 1) that the engine drew on the host from the row's own RNG, so a seeded request
 * gives the same tokens on any backend. The rules are those of the engine's {@code Sampler}:
 * probabilities exp(x/T - max); min_p, then top_k (ties with the k-th kept), then top_p (the
 * smallest most-likely set reaching top_p of the mass, ties by lower id); then the first token in
 * id order whose cumulative kept mass exceeds u times the kept total.
 */
public record DeviceSampling(double[] temperature, int[] topK, double[] topP, double[] minP, double[] uniform) {
    /** Doubles per row in {@link #packed()}: temperature, top_k, top_p, min_p, uniform. */
    public static final int FIELDS = 5;

    public DeviceSampling {
        int r = temperature.length;
        if (topK.length != r || topP.length != r || minP.length != r || uniform.length != r) {
            throw new IllegalArgumentException("device sampling: " + r + " temperatures, " + topK.length + " top_k, "
                    + topP.length + " top_p, " + minP.length + " min_p, " + uniform.length + " uniforms");
        }
        for (int i = 0; i < r; i++) {
            check(i, "temperature", temperature[i] >= 0 && Double.isFinite(temperature[i]), temperature[i]);
            check(i, "top_p", topP[i] > 0 && topP[i] <= 1, topP[i]);
            check(i, "min_p", minP[i] >= 0 && minP[i] <= 1, minP[i]);
            check(i, "uniform", uniform[i] >= 0 && uniform[i] < 1, uniform[i]);
        }
    }

    private static void check(int row, String field, boolean ok, double v) {
        if (!ok) {
            throw new IllegalArgumentException("device sampling row " + row + ": " + field + " out of range: " + v);
        }
    }

    /** Every row greedy. */
    public static DeviceSampling greedy(int rows) {
        double[] ones = new double[rows];
        Arrays.fill(ones, 1.0);
        return new DeviceSampling(new double[rows], new int[rows], ones, new double[rows], new double[rows]);
    }

    public int rows() {
        return temperature.length;
    }

    public boolean isGreedy(int row) {
        return temperature[row] == 0;
    }

    /** Row-major [rows, FIELDS] doubles, the layout a backend's sample op reads. */
    public double[] packed() {
        int r = rows();
        double[] out = new double[r * FIELDS];
        for (int i = 0; i < r; i++) {
            out[i * FIELDS] = temperature[i];
            out[i * FIELDS + 1] = topK[i];
            out[i * FIELDS + 2] = topP[i];
            out[i * FIELDS + 3] = minP[i];
            out[i * FIELDS + 4] = uniform[i];
        }
        return out;
    }
}
