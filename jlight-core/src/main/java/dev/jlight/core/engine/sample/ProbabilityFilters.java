package dev.jlight.core.engine.sample;

import java.util.Arrays;

/**
 * The filters that only matter for random sampling, on unnormalized probabilities
 * {@code p[i] = exp(x[i] - max)} (so the most likely token has p = 1), in vLLM's order: min_p,
 * then top_k, then top_p. Dropped tokens get p = 0.
 */
final class ProbabilityFilters {
    private final double[] scratch;
    private final int[] cand;

    ProbabilityFilters(int vocab) {
        scratch = new double[vocab];
        cand = new int[vocab];
    }

    /** Drops tokens with probability below minP times the top probability. */
    void minP(double[] p, int vocab, double minP) {
        if (minP <= 0) {
            return;
        }
        for (int i = 0; i < vocab; i++) {
            if (p[i] < minP) {
                p[i] = 0;
            }
        }
    }

    /** Keeps the k largest probabilities (and any tied with the k-th). */
    void topK(double[] p, int vocab, int k) {
        if (k <= 0 || k >= vocab) {
            return;
        }
        double[] nz = scratch;
        int n = 0;
        for (int i = 0; i < vocab; i++) {
            if (p[i] > 0) {
                nz[n++] = p[i];
            }
        }
        if (n <= k) {
            return;
        }
        double kth = kthLargest(nz, n, k);
        for (int i = 0; i < vocab; i++) {
            if (p[i] < kth) {
                p[i] = 0;
            }
        }
    }

    /**
     * Keeps the smallest set of most likely tokens whose mass reaches topP of the total (the token
     * that crosses is kept; ties broken by lower id). Only tokens above a threshold are sorted: the
     * threshold drops by 1000x until the tokens above it hold enough mass, so a peaked
     * distribution sorts a handful of tokens instead of the vocabulary.
     */
    void topP(double[] p, int vocab, double topP) {
        if (topP >= 1) {
            return;
        }
        double total = 0;
        for (int i = 0; i < vocab; i++) {
            total += p[i];
        }
        double target = topP * total;
        for (double t = 1e-3; ; t = t < 1e-300 ? 0 : t * 1e-3) {
            int n = 0;
            double mass = 0;
            for (int i = 0; i < vocab; i++) {
                if (p[i] > 0 && p[i] >= t) {
                    cand[n++] = i;
                    mass += p[i];
                }
            }
            if (mass >= target || t == 0) {
                keepNucleus(p, vocab, cand, n, target);
                return;
            }
        }
    }

    private static void keepNucleus(double[] p, int vocab, int[] cand, int n, double target) {
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = cand[i];
        }
        Arrays.sort(order, (a, b) -> p[a] != p[b] ? Double.compare(p[b], p[a]) : Integer.compare(a, b));
        int last = n - 1;
        double cum = 0;
        for (int i = 0; i < n; i++) {
            cum += p[order[i]];
            if (cum >= target) {
                last = i;
                break;
            }
        }
        // Kept: everything before the last kept token in (probability desc, id asc) order.
        double pv = p[order[last]];
        int idv = order[last];
        for (int i = 0; i < vocab; i++) {
            if (p[i] < pv || (p[i] == pv && i > idv)) {
                p[i] = 0;
            }
        }
    }

    /** The k-th largest of a[0..n) (1-based k), by quickselect on a scratch copy. */
    static double kthLargest(double[] a, int n, int k) {
        int lo = 0;
        int hi = n - 1;
        int target = k - 1;
        while (lo < hi) {
            double pivot = a[(lo + hi) >>> 1];
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (a[i] > pivot) {
                    i++;
                }
                while (a[j] < pivot) {
                    j--;
                }
                if (i <= j) {
                    double tmp = a[i];
                    a[i] = a[j];
                    a[j] = tmp;
                    i++;
                    j--;
                }
            }
            if (target <= j) {
                hi = j;
            } else if (target >= i) {
                lo = i;
            } else {
                return a[target];
            }
        }
        return a[target];
    }
}
