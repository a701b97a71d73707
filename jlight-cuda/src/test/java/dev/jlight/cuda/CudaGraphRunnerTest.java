package dev.jlight.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.config.ModelConfig;
import dev.jlight.core.model.ForwardBatch;
import dev.jlight.core.model.LoadProgress;
import dev.jlight.core.model.Model;
import dev.jlight.core.model.ModelLoader;
import dev.jlight.core.model.StaticBatch;
import dev.jlight.core.testing.SingleSequence;
import dev.jlight.core.weights.DType;
import dev.jlight.core.weights.DummyWeights;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Decode steps replayed from CUDA graphs give bit for bit what the same padded step gives when
 * run eagerly (two copies of one dummy Llama, each with its own KV cache): warm-up, capture,
 * replays; then a step that makes the model reallocate its buffers, after which the stale
 * graph must not be replayed (the step falls back to eager, still exact) and a new one is
 * captured.
 */
@Tag("gpu")
class CudaGraphRunnerTest {

    @Test
    void replaysAreExactlyTheEagerPaddedSteps() throws Exception {
        CudaBackend.Availability a = CudaBackend.probe();
        assumeTrue(a.available(), () -> "skipped, no GPU backend here: " + a.reason());
        ModelConfig config = ModelConfig.parse(Path.of("config.json"),
                new ObjectMapper().readTree(CudaLlamaModelTest.CONFIG));
        DummyWeights weights = new DummyWeights(DType.BF16, 11);
        int seqs = 5, maxLen = 64, block = 16;
        try (CudaBackend gpu = new CudaBackend(CudaBackend.Options.defaults().withArenaBytes(2L << 30));
             Model ma = ModelLoader.load(config, weights, gpu, LoadProgress.NONE);
             Model mb = ModelLoader.load(config, weights, gpu, LoadProgress.NONE)) {
            assumeTrue(gpu.graphsSupported(), "the driver has no graph API");
            StaticBatch ba = new StaticBatch(seqs, maxLen, block);
            StaticBatch bb = new StaticBatch(seqs, maxLen, block);
            int extra = 8; // blocks past the static batch's for the buffer-growing prefill
            try (KvCache ka = gpu.allocateKvCache(ma.kvCacheSpec(ba.blocksNeeded() + extra, block));
                 KvCache kb = gpu.allocateKvCache(mb.kvCacheSpec(bb.blocksNeeded() + extra, block));
                 CudaGraphRunner runner = new CudaGraphRunner(ma, ka, maxLen)) {
                Random r = new Random(5);
                int vocab = config.vocabSize();
                int[][] tokens = new int[seqs][];
                for (int s = 0; s < seqs; s++) {
                    tokens[s] = r.ints(2 + s, 0, vocab).toArray();
                }
                float[] got = runner.forward(ba.next(tokens), ka); // prefill: eager, unpadded
                float[] want = mb.forward(bb.next(tokens), kb);
                same("prefill", want, got, got.length);
                for (int step = 0; step < 12; step++) {
                    if (step == 6) {
                        // a 100-token prefill of another sequence (own blocks): the model's step
                        // buffers grow, so the graph's pointers are stale
                        int[] table = new int[extra];
                        for (int i = 0; i < extra; i++) {
                            table[i] = ba.blocksNeeded() + i;
                        }
                        runner.forward(SingleSequence.step(r.ints(100, 0, vocab).toArray(), 0, table, block, 99), ka);
                    }
                    for (int s = 0; s < seqs; s++) {
                        tokens[s] = new int[] {SingleSequence.argmax(want, s, vocab)};
                    }
                    ForwardBatch fa = ba.next(tokens);
                    ForwardBatch fb = bb.next(tokens);
                    got = runner.forward(fa, ka);
                    want = mb.forward(runner.pad(fb, 8), kb);
                    assertEquals(seqs * vocab, got.length);
                    same("decode step " + step + " (" + runner.stats() + ")", want, got, seqs * vocab);
                }
                CudaGraphRunner.Stats st = runner.stats();
                System.out.println("graph runner: " + st);
                assertEquals(1, st.warmups(), st.toString());
                assertEquals(1, st.fallbacks(), st.toString()); // the first decode step after the growth
                assertEquals(2, st.captures(), st.toString());  // steps 1 and 7
                assertEquals(8, st.replays(), st.toString());   // steps 2-5 and 8-11
                assertEquals(0, st.captureFailures(), st.toString());
            }
        }
    }

    static void same(String what, float[] want, float[] got, int n) {
        for (int i = 0; i < n; i++) {
            if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
                fail(what + ": logit " + i + " is " + got[i] + ", eager " + want[i]);
            }
        }
        assertTrue(Float.isFinite(got[0]), what + ": " + got[0]);
    }
}
