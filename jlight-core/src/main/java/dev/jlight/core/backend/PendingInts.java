package dev.jlight.core.backend;

/**
 * Int values on their way from a backend to the host ({@link Backend#downloadIntsAsync}): the
 * copy may still be queued behind the backend's work, and {@link #await()} blocks until the
 * values are here. Await on the thread that drives the backend; awaiting again returns the same
 * values.
 */
@FunctionalInterface
public interface PendingInts {

    /** The values, in the tensor's row-major order; waits for the backend. */
    int[] await();

    /** Values already on the host (a backend that computes when asked). */
    static PendingInts done(int[] values) {
        return () -> values;
    }
}
