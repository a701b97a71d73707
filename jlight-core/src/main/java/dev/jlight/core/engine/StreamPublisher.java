package dev.jlight.core.engine;

import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Adapts a {@link RequestStream} to {@link Flow.Publisher}: a virtual thread takes outputs as
 * the subscriber's demand allows. Single subscriber; cancelling aborts the request.
 */
final class StreamPublisher implements Flow.Publisher<RequestOutput> {
    private final RequestStream stream;
    private final AtomicBoolean subscribed = new AtomicBoolean();

    StreamPublisher(RequestStream stream) {
        this.stream = stream;
    }

    @Override
    public void subscribe(Flow.Subscriber<? super RequestOutput> subscriber) {
        if (subscribed.getAndSet(true)) {
            subscriber.onSubscribe(new Flow.Subscription() {
                @Override
                public void request(long n) {
                }

                @Override
                public void cancel() {
                }
            });
            subscriber.onError(new IllegalStateException("request " + stream.requestId() + " already has a subscriber"));
            return;
        }
        Pump pump = new Pump(subscriber);
        Thread.ofVirtual().name("jlight-stream-" + stream.requestId()).start(pump);
    }

    private final class Pump implements Runnable, Flow.Subscription {
        private final Flow.Subscriber<? super RequestOutput> subscriber;
        private long demand;
        private boolean cancelled;
        private Throwable badRequest;

        Pump(Flow.Subscriber<? super RequestOutput> subscriber) {
            this.subscriber = subscriber;
        }

        @Override
        public synchronized void request(long n) {
            if (n <= 0) {
                badRequest = new IllegalArgumentException("request(" + n + "): demand must be positive (rule 3.9)");
            } else {
                demand = demand + n < 0 ? Long.MAX_VALUE : demand + n;
            }
            notifyAll();
        }

        @Override
        public void cancel() {
            synchronized (this) {
                if (cancelled) {
                    return;
                }
                cancelled = true;
                notifyAll();
            }
            stream.cancel();
        }

        private synchronized boolean awaitDemand() throws InterruptedException {
            while (demand == 0 && !cancelled && badRequest == null) {
                wait();
            }
            if (cancelled || badRequest != null) {
                return false;
            }
            demand--;
            return true;
        }

        @Override
        public void run() {
            subscriber.onSubscribe(this);
            try {
                while (awaitDemand()) {
                    RequestOutput o = stream.take();
                    if (o == null) {
                        subscriber.onComplete();
                        return;
                    }
                    subscriber.onNext(o);
                    if (o.finished()) {
                        subscriber.onComplete();
                        return;
                    }
                }
                if (badRequest != null) {
                    cancel();
                    subscriber.onError(badRequest);
                }
            } catch (InterruptedException e) {
                subscriber.onError(e);
            } catch (RuntimeException e) {
                subscriber.onError(e);
            }
        }
    }
}
