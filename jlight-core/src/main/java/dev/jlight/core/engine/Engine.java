package dev.jlight.core.engine;

import dev.jlight.core.JLightException;
import dev.jlight.core.backend.KvCache;
import dev.jlight.core.model.Model;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The serving loop: one engine thread owns the batch and repeats schedule, forward, sample,
 * detokenize and publish while there is work, and sleeps on its inbox when idle. Other threads
 * talk to it only through the inbox (admissions and aborts, applied at step boundaries) and
 * read the metrics snapshot it publishes.
 *
 * <pre>{@code
 * KvCache kv = model.backend().allocateKvCache(model.kvCacheSpec(numBlocks, 16));
 * try (Engine engine = Engine.start(model, kv, EngineOptions.defaults(4096), eosIds, decoderFactory)) {
 *     RequestStream s = engine.generate(new EngineRequest("r1", promptIds, SamplingParams.greedy(64)));
 *     for (RequestOutput o : s) { ... o.choices() deltas ... }
 * }
 * }</pre>
 * The engine does not close the model or the KV cache: their owner does, after the engine.
 */
public final class Engine implements EngineClient, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Engine.class);

    private sealed interface Command permits Add, Abort, Stop {
    }

    private record Add(EngineRequest request, OutputSink sink, long arrivalMillis, long arrivalNanos) implements Command {
    }

    private record Abort(String requestId) implements Command {
    }

    private record Stop() implements Command {
    }

    private final EngineCore core;
    private final LinkedBlockingQueue<Command> inbox = new LinkedBlockingQueue<>();
    private final Set<String> live = ConcurrentHashMap.newKeySet();
    private final Object submitLock = new Object();
    private final Thread thread;
    private volatile EngineMetrics metrics;
    private volatile Throwable fatal;
    private boolean closed;

    private Engine(EngineCore core) {
        this.core = core;
        this.metrics = core.metrics();
        this.thread = Thread.ofPlatform().name("jlight-engine").daemon(true).unstarted(this::loop);
    }

    /** Starts the engine thread. The pool is the KV cache's blocks; the block size is its block size. */
    public static Engine start(Model model, KvCache kvCache, EngineOptions options, Set<Integer> eosTokenIds,
                               TextDecoderFactory decoders) {
        Engine e = new Engine(new EngineCore(model, kvCache, options, eosTokenIds, decoders));
        e.thread.start();
        return e;
    }

    @Override
    public RequestStream generate(EngineRequest request) {
        core.validate(request);
        String id = request.requestId();
        if (!live.add(id)) {
            throw new InvalidRequestException("request_id", "a request with id " + id + " is running");
        }
        RequestStream stream = new RequestStream(id, this::abort);
        OutputSink sink = new OutputSink() {
            @Override
            public void accept(RequestOutput output) {
                if (output.finished()) {
                    live.remove(id);
                }
                stream.publish(output);
            }

            @Override
            public void fail(Throwable error) {
                live.remove(id);
                stream.fail(error);
            }
        };
        synchronized (submitLock) {
            if (closed) {
                live.remove(id);
                throw new JLightException(fatal == null ? "the engine is closed"
                        : "the engine stopped after an internal error: " + fatal.getMessage(), fatal);
            }
            inbox.add(new Add(request, sink, System.currentTimeMillis(), System.nanoTime()));
        }
        return stream;
    }

    @Override
    public void abort(String requestId) {
        synchronized (submitLock) {
            if (!closed) {
                inbox.add(new Abort(requestId));
            }
        }
    }

    @Override
    public EngineMetrics metrics() {
        return metrics;
    }

    /** Aborts every live request (each gets a last "abort" output) and stops the engine thread. */
    @Override
    public void close() {
        synchronized (submitLock) {
            if (!closed) {
                closed = true;
                inbox.add(new Stop());
            }
        }
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void loop() {
        try {
            while (true) {
                Command c = core.hasWork() ? inbox.poll() : inbox.take();
                for (; c != null; c = inbox.poll()) {
                    if (c instanceof Stop) {
                        core.abortAll();
                        metrics = core.metrics();
                        return;
                    }
                    handle(c);
                }
                core.step();
                metrics = core.metrics();
            }
        } catch (Throwable t) {
            die(t);
        }
    }

    private void handle(Command c) {
        switch (c) {
            case Add a -> {
                try {
                    core.add(a.request(), a.sink(), a.arrivalMillis(), a.arrivalNanos());
                } catch (InvalidRequestException e) {
                    a.sink().fail(e);
                }
            }
            case Abort a -> core.abort(a.requestId());
            case Stop s -> throw new IllegalStateException("handled by the loop");
        }
        metrics = core.metrics();
    }

    /** An engine bug or an interrupt: every request fails, and the engine refuses new ones. */
    private void die(Throwable t) {
        LOG.error("engine thread stopped", t);
        synchronized (submitLock) {
            fatal = t;
            closed = true;
        }
        core.failAll(t);
        for (Command c; (c = inbox.poll()) != null; ) {
            if (c instanceof Add a) {
                a.sink().fail(t);
            }
        }
    }
}
