package dev.jlight.core.engine;

import dev.jlight.core.model.Model;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/** An {@link EngineCore} over the fake model and KV cache, driven step by step. */
final class Harness {
    static final int VOCAB = 50;
    static final int EOS = 49;
    final FakeModel model = new FakeModel(VOCAB);
    final FakeKvCache kv;
    final EngineCore core;

    Harness(int numBlocks, int blockSize, EngineOptions options) {
        this(numBlocks, blockSize, options, FakeDecoder.letters());
    }

    Harness(int numBlocks, int blockSize, EngineOptions options, TextDecoderFactory decoders) {
        this(numBlocks, blockSize, options, decoders, m -> m);
    }

    /** @param driver the model the engine drives, around the fake one (a wrapper, or the fake itself) */
    Harness(int numBlocks, int blockSize, EngineOptions options, TextDecoderFactory decoders,
            Function<FakeModel, Model> driver) {
        kv = new FakeKvCache(numBlocks, blockSize);
        core = new EngineCore(driver.apply(model), kv, options, Set.of(EOS), decoders);
    }

    static EngineOptions options(int maxModelLen, int budget, int maxSeqs) {
        return EngineOptions.defaults(maxModelLen).withMaxNumBatchedTokens(budget).withMaxNumSeqs(maxSeqs);
    }

    CollectingSink submit(String id, int[] prompt, SamplingParams p) {
        CollectingSink sink = new CollectingSink();
        core.add(new EngineRequest(id, prompt, p), sink);
        core.checkInvariants();
        return sink;
    }

    void runAll() {
        int steps = 0;
        while (core.hasWork()) {
            core.step();
            core.checkInvariants();
            if (++steps > 100_000) {
                throw new IllegalStateException("no end");
            }
        }
    }

    static int[] prompt(int seed, int len) {
        int[] p = new int[len];
        for (int i = 0; i < len; i++) {
            p[i] = Math.floorMod(seed * 31 + i * 7 + i * i, VOCAB - 1);
        }
        return p;
    }

    /** Greedy decoding straight from the model's logit function: the ground truth. */
    static List<Integer> referenceGreedy(int[] prompt, int maxTokens, boolean ignoreEos) {
        int[] toks = new int[prompt.length + maxTokens];
        System.arraycopy(prompt, 0, toks, 0, prompt.length);
        int len = prompt.length;
        List<Integer> out = new ArrayList<>();
        while (out.size() < maxTokens) {
            float[] l = FakeModel.logitsFor(toks, len, VOCAB);
            int best = 0;
            for (int i = 1; i < VOCAB; i++) {
                if (l[i] > l[best]) {
                    best = i;
                }
            }
            out.add(best);
            toks[len++] = best;
            if (best == EOS && !ignoreEos) {
                break;
            }
        }
        return out;
    }
}
