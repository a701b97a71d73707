package dev.jlight.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jlight.core.backend.Tensor;
import dev.jlight.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

/**
 * The sampled-ids buffer of LlamaModel (on the CPU backend for its tensors): previous rows are
 * checked against what the last sampled step picked, the buffer moves only when a step has more
 * rows than it holds, and the old one stays the previous one until the new step committed.
 */
class PickedIdsTest {
    @Test
    void growsOnlyWhenNeededAndCommitsAfterTheStep() {
        try (CpuBackend cpu = new CpuBackend(1)) {
            PickedIds p = new PickedIds(cpu);
            IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                    () -> p.previous(new int[] {-1, 0}, 2));
            assertTrue(none.getMessage().contains("token 1 takes row 0"), none.getMessage());
            Tensor first = p.previous(new int[] {-1, -1}, 2); // before any sampled step: all -1 is fine
            assertSame(first, p.target(2));
            p.picked(first, 2);
            assertSame(first, p.previous(new int[] {1, -1, 0}, 3));
            IllegalArgumentException past = assertThrows(IllegalArgumentException.class,
                    () -> p.previous(new int[] {2}, 1));
            assertTrue(past.getMessage().contains("row 2 of the previous sampled step, which picked 2 ids"),
                    past.getMessage());
            Tensor bigger = p.target(100);
            assertNotSame(first, bigger);
            assertTrue(bigger.rows() >= 100);
            assertSame(first, p.previous(new int[] {1}, 1), "not committed yet: a rerun reads the same ids");
            p.picked(bigger, 100);
            assertSame(bigger, p.previous(new int[] {99}, 1));
            assertSame(bigger, p.target(50));
            assertEquals(1, bigger.cols());
        }
    }
}
