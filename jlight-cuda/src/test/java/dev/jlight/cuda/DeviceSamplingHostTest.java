package dev.jlight.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jlight.core.model.DeviceSampling;
import org.junit.jupiter.api.Test;

/** The host side of device sampling that needs no GPU: launch geometry and graph padding. */
class DeviceSamplingHostTest {

    @Test
    void threadsArePowersOfTwoCoveringTheVocabularyUpTo1024() {
        assertEquals(32, CudaSampler.threads(1));
        assertEquals(32, CudaSampler.threads(32));
        assertEquals(64, CudaSampler.threads(33));
        assertEquals(1024, CudaSampler.threads(1000));
        assertEquals(1024, CudaSampler.threads(128256));
        for (long v = 1; v < 5000; v += 7) {
            int t = CudaSampler.threads(v);
            assertEquals(0, t & (t - 1), "power of two for " + v);
            assertTrue(t >= Math.min(v, 1024) && t <= 1024, v + " -> " + t);
        }
    }

    @Test
    void graphPaddingAddsGreedyRowsAndKeepsTheRealOnes() {
        DeviceSampling s = new DeviceSampling(new double[] {0.7, 0}, new int[] {5, 0}, new double[] {0.9, 1},
                new double[] {0.1, 0}, new double[] {0.25, 0});
        assertSame(s, CudaGraphRunner.padSampling(s, 2));
        DeviceSampling p = CudaGraphRunner.padSampling(s, 4);
        assertEquals(4, p.rows());
        assertArrayEquals(new double[] {0.7, 0, 0, 0}, p.temperature());
        assertArrayEquals(new int[] {5, 0, 0, 0}, p.topK());
        assertArrayEquals(new double[] {0.9, 1, 1, 1}, p.topP());
        assertArrayEquals(new double[] {0.1, 0, 0, 0}, p.minP());
        assertArrayEquals(new double[] {0.25, 0, 0, 0}, p.uniform());
        assertTrue(p.isGreedy(2) && p.isGreedy(3));
    }

    @Test
    void packedRowsHoldTheFieldsInTheKernelsOrder() {
        DeviceSampling s = new DeviceSampling(new double[] {1.5}, new int[] {40}, new double[] {0.8},
                new double[] {0.05}, new double[] {0.5});
        assertArrayEquals(new double[] {1.5, 40, 0.8, 0.05, 0.5}, s.packed());
        assertEquals(5, DeviceSampling.FIELDS);
    }
}
