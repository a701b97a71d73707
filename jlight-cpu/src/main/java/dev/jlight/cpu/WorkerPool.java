package dev.jlight.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A fixed set of worker threads, made once, that split a range of chunks with the calling thread.
 * Chunks are claimed from an atomic counter (dynamic balance: a core slowed by another process
 * just takes fewer chunks). Workers spin briefly after a job before parking, so the back-to-back
 * ops of a decode step do not pay a thread wake-up each.
 *
 * <p>One job runs at a time; a call made while the pool is busy (another thread, or from inside a
 * job) runs on the calling thread alone.
 */
final class WorkerPool implements AutoCloseable {

    /** Body of a parallel loop: handles chunk indexes [from, to). */
    @FunctionalInterface
    interface Body {
        void run(int from, int to);
    }

    private static final long SPIN_NANOS = 50_000;

    private final int threads;
    private final Thread[] workers;
    private final ReentrantLock lock = new ReentrantLock();
    private volatile Job current;
    private volatile long generation;
    private volatile boolean closed;
    private final AtomicInteger parked = new AtomicInteger();

    WorkerPool(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("cpu backend: threads must be >= 1, got " + threads);
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            Thread t = new Thread(this::workerLoop, "jlight-cpu-" + (i + 1));
            t.setDaemon(true);
            workers[i] = t;
        }
        for (Thread t : workers) {
            t.start();
        }
    }

    int threads() {
        return threads;
    }

    /**
     * Runs {@code body} over the indexes [0, n), in ranges of at most {@code grain} indexes claimed
     * by the workers and this thread; returns when all ranges are done (rethrowing the first failure).
     */
    void run(int n, int grain, Body body) {
        if (n <= 0) {
            return;
        }
        grain = Math.max(1, grain);
        int chunks = (n + grain - 1) / grain;
        if (chunks == 1 || workers.length == 0 || isWorkerThread() || !lock.tryLock()) {
            body.run(0, n);
            return;
        }
        try {
            Job job = new Job(n, grain, chunks, body);
            current = job;
            generation++;
            if (parked.get() > 0) {
                for (Thread w : workers) {
                    LockSupport.unpark(w);
                }
            }
            job.work();
            job.awaitDone();
            Throwable f = job.failure.get();
            current = null;
            if (f != null) {
                if (f instanceof RuntimeException re) {
                    throw re;
                }
                if (f instanceof Error e) {
                    throw e;
                }
                throw new IllegalStateException(f);
            }
        } finally {
            lock.unlock();
        }
    }

    private boolean isWorkerThread() {
        Thread me = Thread.currentThread();
        for (Thread w : workers) {
            if (w == me) {
                return true;
            }
        }
        return false;
    }

    private void workerLoop() {
        long seen = 0;
        while (!closed) {
            long g = generation;
            if (g != seen) {
                seen = g;
                Job j = current;
                if (j != null) {
                    j.work();
                }
                continue;
            }
            long start = System.nanoTime();
            while (generation == seen && !closed && System.nanoTime() - start < SPIN_NANOS) {
                Thread.onSpinWait();
            }
            if (generation == seen && !closed) {
                parked.incrementAndGet();
                if (generation == seen && !closed) {
                    LockSupport.park(this);
                }
                parked.decrementAndGet();
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        for (Thread w : workers) {
            try {
                w.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static final class Job {
        final int n;
        final int grain;
        final int chunks;
        final Body body;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        final AtomicReference<Throwable> failure = new AtomicReference<>();

        Job(int n, int grain, int chunks, Body body) {
            this.n = n;
            this.grain = grain;
            this.chunks = chunks;
            this.body = body;
        }

        void work() {
            int c;
            while ((c = next.getAndIncrement()) < chunks) {
                try {
                    if (failure.get() == null) {
                        int from = c * grain;
                        body.run(from, Math.min(n, from + grain));
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    done.incrementAndGet();
                }
            }
        }

        void awaitDone() {
            int spins = 0;
            while (done.get() < chunks) {
                if (++spins < 10_000) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
        }
    }
}
