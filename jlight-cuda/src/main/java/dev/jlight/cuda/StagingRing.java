package dev.jlight.cuda;

/**
 * Which bytes of the backend's pinned staging buffer the host may write: the bookkeeping (offsets
 * only) of a ring of {@code size} bytes through which every upload passes.
 *
 * <p>An upload copies its data into the ring and queues a host-to-device copy that reads it later,
 * when the stream gets there; the host must not write those bytes again before that copy ran.
 * Positions count bytes ever taken (they never wrap; the offset is {@code position % size}), so
 * a mark taken when an event is recorded says exactly which bytes the copies queued before the
 * event read: once the event completes, {@link #retire} frees them. A synchronous step frees all
 * ({@link #reset}, after a stream sync); an overlapped step (its ids read back behind an event,
 * with the next step's uploads already queued) frees only what was taken before its mark, so the
 * next step's bytes, still to be read, stay taken. Pure offset arithmetic: unit-tested without a GPU.
 */
final class StagingRing {
    private final long size;
    private final long align;
    /** Next position to take. */
    private long head;
    /** Oldest position a queued copy may still read. */
    private long tail;

    StagingRing(long size, long align) {
        if (size <= 0 || align <= 0 || size % align != 0) {
            throw new IllegalArgumentException("staging ring of " + size + " bytes, alignment " + align);
        }
        this.size = size;
        this.align = align;
    }

    /**
     * The offset of {@code bytes} (at most the ring's size) free contiguous bytes, now taken, or
     * -1 when the ring has no such room until queued copies finish (then sync, {@link #reset}, ask
     * again).
     */
    long take(long bytes) {
        if (bytes < 0 || bytes > size) {
            throw new IllegalArgumentException("staging take of " + bytes + " bytes from a ring of " + size);
        }
        long len = (bytes + align - 1) / align * align;
        long offset = head % size;
        long start = offset + len > size ? head + (size - offset) : head; // a piece never wraps
        if (start + len - tail > size) {
            return -1;
        }
        head = start + len;
        return start % size;
    }

    /** The position after everything taken so far: record it with an event queued after the copies. */
    long mark() {
        return head;
    }

    /** The copies queued before the event of {@code mark} ran: their bytes are free again. */
    void retire(long mark) {
        if (mark > head) {
            throw new IllegalArgumentException("staging mark " + mark + " past the head " + head);
        }
        tail = Math.max(tail, mark);
    }

    /** Every queued copy ran (a stream sync): all free, the next take starts a fresh lap (no split room). */
    void reset() {
        head = (head + size - 1) / size * size;
        tail = head;
    }

    /** Bytes taken and not yet freed (tests, diagnostics). */
    long inUse() {
        return head - tail;
    }
}
