package dev.jlight.server.bench;

import java.util.Arrays;

/** numpy's mean, std (population), median and percentile (linear interpolation), as vLLM's benchmark uses them. */
public final class Stats {
    private Stats() {
    }

    public static double mean(double[] x) {
        if (x.length == 0) {
            return 0;
        }
        double s = 0;
        for (double v : x) {
            s += v;
        }
        return s / x.length;
    }

    public static double std(double[] x) {
        if (x.length == 0) {
            return 0;
        }
        double m = mean(x);
        double s = 0;
        for (double v : x) {
            s += (v - m) * (v - m);
        }
        return Math.sqrt(s / x.length);
    }

    public static double median(double[] x) {
        return percentile(x, 50);
    }

    /** numpy.percentile with the default 'linear' method; 0 for an empty sample (vLLM passes {@code x or 0}). */
    public static double percentile(double[] x, double p) {
        if (x.length == 0) {
            return 0;
        }
        double[] s = x.clone();
        Arrays.sort(s);
        double rank = p / 100.0 * (s.length - 1);
        int lo = (int) Math.floor(rank);
        int hi = Math.min(lo + 1, s.length - 1);
        return s[lo] + (rank - lo) * (s[hi] - s[lo]);
    }
}
