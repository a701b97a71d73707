package dev.jlight.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The decode attention's split choice (no GPU needed): every position covered, splits only where the grid is small. */
class SplitPlanTest {
    @Test
    void batch64OnAnH100DoesNotSplit() {
        assertEquals(new SplitPlan(1024, 1), SplitPlan.of(1024, 64 * 8, 132));
    }

    @Test
    void batch1SpreadsTheContextOverTheGpu() {
        SplitPlan p = SplitPlan.of(8192, 8, 132);
        // 8 blocks want 396 (3 per SM): 50 splits of 164, rounded to the grain of 32 -> 43 of 192
        assertEquals(192, p.splitSize());
        assertEquals(43, p.maxSplits());
        SplitPlan shortCtx = SplitPlan.of(640, 8, 132);
        assertEquals(SplitPlan.MIN_SPLIT, shortCtx.splitSize());
        assertEquals(5, shortCtx.maxSplits());
    }

    @Test
    void splitsCoverEveryPositionOfTheBound() {
        for (int bound = 1; bound < 5000; bound += 37) {
            for (long blocks : new long[] {1, 8, 100, 395, 396, 4000}) {
                SplitPlan p = SplitPlan.of(bound, blocks, 132);
                assertTrue((long) p.splitSize() * p.maxSplits() >= bound, p + " for " + bound);
                assertTrue((long) p.splitSize() * (p.maxSplits() - 1) < bound, p + " has an empty split for " + bound);
            }
        }
        assertEquals(new SplitPlan(5, 1), SplitPlan.fixed(5, 64));
        assertEquals(new SplitPlan(16, 63), SplitPlan.fixed(1001, 16));
    }
}
