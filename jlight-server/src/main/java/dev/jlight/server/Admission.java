package dev.jlight.server;

/**
 * Admission control in front of the engine: at most {@code limit} sequences in flight (the batch
 * of --max-num-seqs plus --max-waiting-requests waiting); beyond that, and while shutting down,
 * requests are refused with 503 before anything is tokenized into the engine.
 */
final class Admission {
    private final int limit;
    private int inFlight;
    private boolean draining;

    Admission(int limit) {
        this.limit = limit;
    }

    int limit() {
        return limit;
    }

    /** Takes room for {@code seqs} sequences or throws 503 (400 when they could never fit). */
    synchronized void acquire(int seqs, String param) {
        if (draining) {
            throw ApiException.overloaded("The server is shutting down.");
        }
        if (seqs > limit) {
            throw ApiException.badRequest(param, "The request asks for " + seqs + " sequences (prompts x n) but the "
                    + "server admits at most " + limit + " at once (--max-num-seqs plus --max-waiting-requests).");
        }
        if (inFlight + seqs > limit) {
            throw ApiException.overloaded("The server is overloaded: " + inFlight + " sequences are running or "
                    + "waiting (limit " + limit + "). Please retry later.");
        }
        inFlight += seqs;
    }

    synchronized void release(int seqs) {
        inFlight -= seqs;
        notifyAll();
    }

    synchronized int inFlight() {
        return inFlight;
    }

    /** Refuses new requests from now on. */
    synchronized void drain() {
        draining = true;
    }

    synchronized boolean draining() {
        return draining;
    }

    /** Waits until nothing is in flight or the deadline ({@link System#nanoTime()}) passes; true if idle. */
    synchronized boolean awaitIdle(long deadlineNanos) throws InterruptedException {
        while (inFlight > 0) {
            long left = deadlineNanos - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            wait(Math.max(1, left / 1_000_000));
        }
        return true;
    }
}
