package dev.jlight.core.engine;

import dev.jlight.core.JLightException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The outputs of one request, in order, as the engine thread publishes them: an unbounded queue
 * (the engine never blocks on a slow reader) read with blocking calls, cheap on virtual threads.
 * The stream ends after the output with {@code finished} true, or with an exception when the
 * request failed. {@link #cancel()} aborts the request. One reader at a time.
 */
public final class RequestStream implements Iterable<RequestOutput> {
    private record Failure(Throwable error) {
    }

    private static final Object END = new Object();

    private final String requestId;
    private final Consumer<String> aborter;
    private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private Object head;
    private boolean ended;

    RequestStream(String requestId, Consumer<String> aborter) {
        this.requestId = requestId;
        this.aborter = aborter;
    }

    public String requestId() {
        return requestId;
    }

    void publish(RequestOutput output) {
        queue.add(output);
        if (output.finished()) {
            queue.add(END);
        }
    }

    void fail(Throwable error) {
        queue.add(new Failure(error));
    }

    /** Asks the engine to abort the request; a last output with finish reason "abort" follows. */
    public void cancel() {
        aborter.accept(requestId);
    }

    /**
     * The next output, blocking; null once the stream has ended.
     *
     * @throws JLightException when the request failed in the engine
     */
    public RequestOutput take() throws InterruptedException {
        if (head == null && !ended) {
            head = queue.take();
        }
        return consume();
    }

    /** Like {@link #take()} but gives up after the timeout, returning null (see {@link #isEnded()}). */
    public RequestOutput poll(long timeout, TimeUnit unit) throws InterruptedException {
        if (head == null && !ended) {
            head = queue.poll(timeout, unit);
        }
        return consume();
    }

    /** True once the last output (or the failure) has been taken. */
    public boolean isEnded() {
        if (!ended && head == null) {
            head = queue.poll();
        }
        if (head == END) {
            ended = true;
            head = null;
        }
        return ended;
    }

    private RequestOutput consume() {
        Object h = head;
        head = null;
        if (h == null) {
            return null;
        }
        if (h == END) {
            ended = true;
            return null;
        }
        if (h instanceof Failure f) {
            ended = true;
            throw new JLightException("request " + requestId + " failed: " + f.error().getMessage(), f.error());
        }
        return (RequestOutput) h;
    }

    /** Blocks until the request ends and folds its outputs. */
    public CompletionResult collect() throws InterruptedException {
        List<RequestOutput> all = new ArrayList<>();
        for (RequestOutput o = take(); o != null; o = take()) {
            all.add(o);
        }
        if (all.isEmpty()) {
            throw new IllegalStateException("request " + requestId + ": stream already consumed");
        }
        return CompletionResult.fold(all);
    }

    /** Blocking iteration over the remaining outputs; interruption ends it with a JLightException. */
    @Override
    public Iterator<RequestOutput> iterator() {
        return new Iterator<>() {
            private RequestOutput next;

            @Override
            public boolean hasNext() {
                if (next == null && !ended) {
                    try {
                        next = take();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new JLightException("interrupted while waiting for request " + requestId, e);
                    }
                }
                return next != null;
            }

            @Override
            public RequestOutput next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                RequestOutput o = next;
                next = null;
                return o;
            }
        };
    }

    /** The same outputs as a {@link Flow.Publisher} (one subscriber; honours demand; cancel aborts). */
    public Flow.Publisher<RequestOutput> asPublisher() {
        return new StreamPublisher(this);
    }
}
