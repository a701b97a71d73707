package dev.jlight.core.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.jlight.core.backend.AttentionMetadata;
import dev.jlight.core.model.ForwardBatch;
import java.util.List;
import org.junit.jupiter.api.Test;

class BatchBuilderTest {

    @Test
    void packsPrefillDecodeAndChunk() {
        SchedulerOutput out = new SchedulerOutput(List.of(
                new ScheduledSeq(1, 0, new int[] {10, 11, 12, 13, 14}, new int[] {3, 7}, true),   // whole prompt
                new ScheduledSeq(2, 17, new int[] {5}, new int[] {2, 0, 9, 4, 6}, true),          // decode
                new ScheduledSeq(3, 4, new int[] {1, 2, 3}, new int[] {5, 8}, false)),            // mid-prompt chunk
                List.of(), 9);
        ForwardBatch b = BatchBuilder.build(out, 4);
        assertArrayEquals(new int[] {10, 11, 12, 13, 14, 5, 1, 2, 3}, b.tokenIds());
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 17, 4, 5, 6}, b.positions());
        AttentionMetadata m = b.attention();
        assertArrayEquals(new int[] {12, 13, 14, 15, 28, 25, 32, 33, 34}, m.slotMapping());
        assertArrayEquals(new int[] {0, 5, 6, 9}, m.queryStart());
        assertArrayEquals(new int[] {5, 18, 7}, m.seqLens());
        assertArrayEquals(new int[] {4, 5}, b.logitRows(), "the chunk that stops short samples nothing");
        assertEquals(4, m.blockSize());
        assertArrayEquals(new int[] {2, 0, 9, 4, 6}, m.blockTables()[1]);
    }

    @Test
    void emptyStepAndShortTables() {
        ForwardBatch b = BatchBuilder.build(new SchedulerOutput(List.of(), List.of(), 0), 16);
        assertEquals(0, b.numTokens());
        SchedulerOutput bad = new SchedulerOutput(List.of(new ScheduledSeq(1, 16, new int[] {1}, new int[] {0}, true)),
                List.of(), 1);
        assertThrows(IllegalStateException.class, () -> BatchBuilder.build(bad, 16));
    }
}
