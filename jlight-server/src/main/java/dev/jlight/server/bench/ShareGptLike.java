package dev.jlight.server.bench;

import dev.jlight.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A stand-in for vLLM's ShareGPT benchmark without the data set: prompt and output lengths drawn
 * from log-normal distributions (ShareGPT's lengths are heavy-tailed, median well below the mean)
 * and filtered by vLLM's sample_sharegpt_requests rules (both lengths at least 4, prompt at most
 * 1024, prompt + output at most 2048). The parameters were fitted by simulation so that the
 * filtered means are about 202 prompt and 179 output tokens, vLLM's ShareGPT V3 figures with a
 * Llama tokenizer (medians about 139 and 121).
 * Prompts are windows of real English text (testdata/tokenizer_corpus.txt, packed into the jar)
 * cut to the drawn length in tokens with {@code --tokenizer}, in words without one (then the
 * server's usage gives the true token counts).
 */
public final class ShareGptLike {
    static final double MU_IN = 4.968;
    static final double SIGMA_IN = 1.0;
    static final double MU_OUT = 4.800;
    static final double SIGMA_OUT = 0.9;
    static final int MIN_LEN = 4;
    static final int MAX_PROMPT = 1024;
    static final int MAX_TOTAL = 2048;
    private static final String CORPUS = "tokenizer_corpus.txt";

    private ShareGptLike() {
    }

    /** Prompt and output lengths of n requests; an {@code outputLen} above 0 replaces the drawn output lengths. */
    static int[][] lengths(int n, int outputLen, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int[][] out = new int[n][];
        for (int i = 0; i < n; ) {
            int in = (int) Math.round(Math.exp(MU_IN + SIGMA_IN * rng.nextGaussian()));
            int o = (int) Math.round(Math.exp(MU_OUT + SIGMA_OUT * rng.nextGaussian()));
            if (in < MIN_LEN || o < MIN_LEN || in > MAX_PROMPT || in + o > MAX_TOTAL) {
                continue;     // vLLM drops such conversations; about 2.6 % of draws
            }
            out[i++] = new int[]{in, outputLen > 0 ? outputLen : o};
        }
        return out;
    }

    public static List<BenchRequest> requests(int n, int outputLen, long seed, Tokenizer tok) {
        if (n < 1) {
            throw new IllegalArgumentException("--num-prompts must be >= 1");
        }
        int[][] lens = lengths(n, outputLen, seed);
        SplittableRandom rng = new SplittableRandom(seed ^ 0x5DEECE66DL);   // offsets independent of the lengths
        String text = corpus();
        List<BenchRequest> reqs = new ArrayList<>(n);
        if (tok != null) {
            int[] ids = tok.encode(text, false);
            for (int[] l : lens) {
                int[] exact = fit(tok, window(ids, rng.nextInt(ids.length), l[0]), l[0]);
                reqs.add(new BenchRequest(tok.decode(exact, true), exact, exact.length, l[1]));
            }
        } else {
            String[] words = text.split("\\s+");
            for (int[] l : lens) {
                int start = rng.nextInt(words.length);
                StringBuilder sb = new StringBuilder();
                for (int j = 0; j < l[0]; j++) {
                    if (j > 0) {
                        sb.append(' ');
                    }
                    sb.append(words[(start + j) % words.length]);
                }
                reqs.add(new BenchRequest(sb.toString(), -1, l[1]));
            }
        }
        return reqs;
    }

    /**
     * Token ids of real text at most {@code len} long and as close to it as the tokenizer allows:
     * a window cut mid-word or mid-character decodes to text that encodes differently (a broken
     * UTF-8 sequence becomes U+FFFD, several byte tokens), so drop broken characters at the edges
     * and shorten the cut until the text's own encoding fits.
     */
    static int[] fit(Tokenizer tok, int[] window, int len) {
        int cut = len;
        int[] ids;
        do {
            String text = tok.decode(Arrays.copyOf(window, cut), true).replaceAll("^\uFFFD+|\uFFFD+$", "");
            ids = tok.encode(text, false);
            cut -= Math.max(1, ids.length - len);
        } while (ids.length > len && cut > 0);
        return ids;
    }

    /** len items of a from start on, wrapping around: the corpus is shorter than the longest prompts. */
    static int[] window(int[] a, int start, int len) {
        int[] w = new int[len];
        for (int j = 0; j < len; j++) {
            w[j] = a[(start + j) % a.length];
        }
        return w;
    }

    static String corpus() {
        try (InputStream in = ShareGptLike.class.getResourceAsStream(CORPUS)) {
            if (in == null) {
                throw new IllegalStateException("resource " + CORPUS + " missing from the jar (built from testdata/)");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
