package dev.jlight.core.model;

/**
 * The token ids of a step started by {@link Model#launchSampled}, which may still be running on
 * the backend: {@link #await()} blocks until they are on the host. Await each step once, in the
 * order the steps were launched.
 */
@FunctionalInterface
public interface PendingIds {

    /** The ids picked for the step's logit rows, in row order; waits for the backend. */
    int[] await();

    /** A step that has already finished (a backend that computes on launch). */
    static PendingIds done(int[] ids) {
        return () -> ids;
    }
}
