package dev.jlight.core.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jlight.core.model.ForwardBatch;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ProfileRunTest {
    @Test
    void theProfileStepHasEveryTokenAndALogitRowPerSequence() {
        int[] lens = {5, 5, 4};
        ForwardBatch b = ProfileRun.batch(lens, 4);
        assertEquals(14, b.tokenIds().length);
        assertArrayEquals(new int[] {0, 5, 10, 14}, b.attention().queryStart());
        assertArrayEquals(lens, b.attention().seqLens());
        assertArrayEquals(new int[] {4, 9, 13}, b.logitRows());
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3}, b.positions());
        // every token its own slot, inside its sequence's blocks
        Set<Integer> slots = new HashSet<>();
        for (int s = 0, t = 0; s < lens.length; s++) {
            for (int p = 0; p < lens[s]; p++, t++) {
                int slot = b.attention().slotMapping()[t];
                assertEquals(b.attention().blockTables()[s][p / 4], slot / 4, "token " + t);
                slots.add(slot);
            }
        }
        assertEquals(14, slots.size());
    }
}
