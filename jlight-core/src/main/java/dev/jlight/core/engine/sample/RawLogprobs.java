package dev.jlight.core.engine.sample;

import dev.jlight.core.engine.Logprob;
import dev.jlight.core.engine.TokenLogprobs;
import java.util.ArrayList;
import java.util.List;

/** Log-softmax of one row of raw logits: the chosen token's logprob, its rank and the top-n. */
final class RawLogprobs {
    private RawLogprobs() {
    }

    static TokenLogprobs of(float[] logits, int off, int vocab, int chosen, int topN) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[off + i]);
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += Math.exp(logits[off + i] - max);
        }
        double lse = max + Math.log(sum);
        float chosenLogit = logits[off + chosen];
        int rank = 1;
        for (int i = 0; i < vocab; i++) {
            rank += logits[off + i] > chosenLogit ? 1 : 0;
        }
        int[] top = topIds(logits, off, vocab, topN);
        List<Logprob> list = new ArrayList<>(top.length);
        for (int id : top) {
            list.add(new Logprob(id, (float) (logits[off + id] - lse)));
        }
        return new TokenLogprobs(chosen, (float) (chosenLogit - lse), rank, list);
    }

    /** Ids of the n largest logits, largest first, ties by lower id (insertion into a small sorted array). */
    static int[] topIds(float[] logits, int off, int vocab, int n) {
        n = Math.min(n, vocab);
        int[] ids = new int[n];
        if (n == 0) {
            return ids;
        }
        int size = 0;
        for (int i = 0; i < vocab; i++) {
            float v = logits[off + i];
            if (size == n && !(v > logits[off + ids[n - 1]])) {
                continue;
            }
            int j = size < n ? size++ : n - 1;
            while (j > 0 && v > logits[off + ids[j - 1]]) {
                ids[j] = ids[j - 1];
                j--;
            }
            ids[j] = i;
        }
        return ids;
    }
}
