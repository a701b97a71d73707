package dev.jlight.cuda;

import dev.jlight.core.backend.PendingInts;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.function.IntFunction;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;

/**
 * Small device-to-host copies that the host awaits later (an overlapped step's token ids): each
 * goes into its own slot of pinned memory behind an event recorded on the stream, so awaiting it
 * waits for that event only, never for the stream (the next step, queued meanwhile, keeps
 * running). Slots are reused once awaited; the staging bytes of uploads queued before the event
 * are freed at the same time ({@link StagingRing#retire}).
 *
 * <p>At most {@link #MAX_IN_FLIGHT} copies wait unawaited: starting one more first awaits the
 * oldest (its values are kept for its own await), so a caller that drops a handle (an engine
 * error path) costs a wait, never a leak. Not thread-safe, like the backend.
 */
final class Readbacks implements AutoCloseable {
    /** The engine keeps at most two steps unawaited (Model.launchSampled); the rest is slack. */
    static final int MAX_IN_FLIGHT = 4;

    private final CudaDriver driver;
    private final MemorySegment stream;
    private final Runnable enter;
    private final LongSupplier stagingMark;
    private final LongConsumer stagingRetire;
    private final IntFunction<RuntimeException> failure;
    private final ArrayDeque<Slot> free = new ArrayDeque<>();
    private final ArrayDeque<Copy> inFlight = new ArrayDeque<>();

    /** Pinned host memory and the event that says a copy into it is done. */
    private static final class Slot {
        final MemorySegment event;
        MemorySegment host;

        Slot(MemorySegment event) {
            this.event = event;
        }
    }

    /**
     * @param enter         makes the backend's context current (and fails when it is closed)
     * @param stagingMark   the staging ring's mark, taken right after a copy's event is recorded
     * @param stagingRetire frees the staging bytes before a mark whose event completed
     * @param failure       the exception for a failed event wait (a fault of the queued work)
     */
    Readbacks(CudaDriver driver, MemorySegment stream, Runnable enter, LongSupplier stagingMark,
              LongConsumer stagingRetire, IntFunction<RuntimeException> failure) {
        this.driver = driver;
        this.stream = stream;
        this.enter = enter;
        this.stagingMark = stagingMark;
        this.stagingRetire = stagingRetire;
        this.failure = failure;
    }

    /** Queues a copy of {@code n} ints at device address {@code src} behind all queued work. */
    PendingInts start(long src, int n) {
        if (inFlight.size() >= MAX_IN_FLIGHT) {
            inFlight.peekFirst().await();
        }
        long bytes = 4L * n;
        Slot slot = free.isEmpty() ? new Slot(driver.eventCreate(CudaDriver.EVENT_DISABLE_TIMING)) : free.pop();
        if (slot.host == null || slot.host.byteSize() < bytes) {
            if (slot.host != null) {
                driver.memFreeHost(slot.host); // a free slot: no copy writes it
            }
            slot.host = driver.memAllocHost(Math.max(bytes, 4096));
        }
        try {
            driver.memcpyDtoHAsync(slot.host, src, bytes, stream);
            driver.eventRecord(slot.event, stream);
        } catch (RuntimeException e) {
            free.push(slot);
            throw e;
        }
        Copy c = new Copy(slot, n, stagingMark.getAsLong());
        inFlight.addLast(c);
        return c;
    }

    /** Copies not yet awaited (tests). */
    int inFlight() {
        return inFlight.size();
    }

    /** One queued copy; {@link #await} waits for its event alone. */
    private final class Copy implements PendingInts {
        private final int n;
        private final long mark;
        private Slot slot;
        private int[] values;

        Copy(Slot slot, int n, long mark) {
            this.slot = slot;
            this.n = n;
            this.mark = mark;
        }

        @Override
        public int[] await() {
            if (values != null) {
                return values;
            }
            enter.run();
            int r = driver.eventSynchronizeRaw(slot.event);
            if (r != 0) {
                throw failure.apply(r); // the context is broken: the slot is not reused
            }
            int[] out = new int[n];
            MemorySegment.copy(slot.host, ValueLayout.JAVA_INT, 0, out, 0, n);
            values = out;
            stagingRetire.accept(mark);
            inFlight.remove(this);
            free.push(slot);
            slot = null;
            return out;
        }
    }

    /** Frees the slots; the caller has synchronized the stream (no copy is queued any more). */
    @Override
    public void close() {
        for (Copy c : inFlight) {
            free.push(c.slot);
        }
        inFlight.clear();
        for (Slot s : free) {
            if (s.host != null) {
                driver.memFreeHost(s.host);
            }
            driver.eventDestroy(s.event);
        }
        free.clear();
    }
}
