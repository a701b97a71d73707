package dev.jlight.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The staging ring's offsets: pieces never overlap bytes that a queued copy may still read (taken
 * after the last retired mark), never wrap, and come back after their mark is retired.
 */
class StagingRingTest {

    @Test
    void takesAlignedPiecesAndWaitsForRetiredMarks() {
        StagingRing ring = new StagingRing(1024, 256);
        assertEquals(0, ring.take(10));
        assertEquals(256, ring.take(256));
        long mark = ring.mark();               // step 1's uploads: [0, 512)
        assertEquals(512, ring.take(300));     // step 2's: [512, 1024)
        assertEquals(-1, ring.take(1), "full until step 1's event is retired");
        ring.retire(mark);
        assertEquals(0, ring.take(200), "wraps to the freed start");
        assertEquals(256, ring.take(256));
        assertEquals(-1, ring.take(1), "step 2's bytes are still queued");
        ring.reset();
        assertEquals(0, ring.inUse());
        assertEquals(0, ring.take(1024), "a reset starts a fresh lap: the whole ring in one piece");
    }

    @Test
    void aPieceThatDoesNotFitBeforeTheEndStartsTheNextLap() {
        StagingRing ring = new StagingRing(1024, 256);
        ring.take(768);
        ring.retire(ring.mark());
        assertEquals(0, ring.take(512), "the 256 bytes left at the end are skipped, not split");
        assertEquals(512, ring.inUse() - 256, "the skipped end counts as taken until retired");
    }

    @Test
    void rejectsBadSizesAndMarks() {
        assertThrows(IllegalArgumentException.class, () -> new StagingRing(1000, 256));
        StagingRing ring = new StagingRing(1024, 256);
        assertThrows(IllegalArgumentException.class, () -> ring.take(2048));
        assertThrows(IllegalArgumentException.class, () -> ring.retire(5));
    }

    /** Random steps of uploads, each retired two steps later (two in flight): no live bytes ever overlap. */
    @Test
    void twoStepsInFlightNeverShareBytes() {
        long size = 64 * 256;
        StagingRing ring = new StagingRing(size, 256);
        Random r = new Random(3);
        ArrayDeque<long[]> marks = new ArrayDeque<>(); // {mark, first live piece index}
        List<long[]> live = new ArrayList<>();         // {offset, length, step}
        for (int step = 0; step < 2000; step++) {
            int pieces = 1 + r.nextInt(6);
            for (int p = 0; p < pieces; p++) {
                long len = 1 + r.nextInt(3000);
                long off = ring.take(len);
                if (off < 0) {
                    ring.reset(); // the backend syncs the stream: nothing is queued any more
                    live.clear();
                    marks.clear();
                    off = ring.take(len);
                }
                assertTrue(off >= 0 && off + len <= size, "piece inside the ring");
                for (long[] l : live) {
                    assertTrue(off + len <= l[0] || l[0] + l[1] <= off,
                            "step " + step + ": [" + off + ", " + (off + len) + ") overlaps a queued piece of step " + l[2]);
                }
                live.add(new long[] {off, len, step});
            }
            marks.addLast(new long[] {ring.mark(), step});
            if (marks.size() > 2) {
                long[] done = marks.removeFirst();
                ring.retire(done[0]);
                live.removeIf(l -> l[2] <= done[1]);
            }
        }
    }
}
