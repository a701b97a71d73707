package dev.jlight.server;

import dev.jlight.core.JLightException;
import dev.jlight.core.engine.CompletionDelta;
import dev.jlight.core.engine.CompletionResult;
import dev.jlight.core.engine.EngineClient;
import dev.jlight.core.engine.EngineRequest;
import dev.jlight.core.engine.InvalidRequestException;
import dev.jlight.core.engine.RequestOutput;
import dev.jlight.core.engine.RequestStream;
import dev.jlight.core.engine.RequestTiming;
import dev.jlight.core.engine.SamplingParams;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One HTTP request's engine requests (one per prompt) merged into a single ordered event queue.
 * A virtual thread per engine request reads its stream, records the metrics of what finishes
 * (also when nobody reads any more, e.g. after a disconnect) and gives the admission room back
 * when the engine is done with it.
 */
final class Generation {
    private static final Logger LOG = LoggerFactory.getLogger(Generation.class);

    /** An output of prompt {@code prompt}, or its failure. */
    record Event(int prompt, RequestOutput output, RuntimeException error) {
    }

    private static final Event END = new Event(-1, null, null);

    private final List<RequestStream> streams = new ArrayList<>();
    private final LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private int open;

    private Generation() {
    }

    /**
     * Submits one engine request per prompt ({@code id-0}, {@code id-1}, ...). Bad input found by
     * the engine is a 400, a closed engine a 503; nothing stays submitted when it throws.
     */
    static Generation start(EngineClient engine, Admission admission, ServerMetrics metrics, String id,
                            List<int[]> prompts, List<SamplingParams> params, String promptParam) {
        int seqs = 0;
        for (SamplingParams p : params) {
            seqs += p.n();
        }
        try {
            admission.acquire(seqs, prompts.size() > 1 ? promptParam : "n");
        } catch (ApiException e) {
            if (e.status() == 503) {
                metrics.rejected();
            }
            throw e;
        }
        Generation g = new Generation();
        int submitted = 0;
        try {
            for (int i = 0; i < prompts.size(); i++) {
                RequestStream s = engine.generate(new EngineRequest(prompts.size() == 1 ? id : id + "-" + i,
                        prompts.get(i), params.get(i)));
                g.streams.add(s);
                submitted += params.get(i).n();
                metrics.promptTokens(prompts.get(i).length);
            }
        } catch (RuntimeException e) {
            admission.release(seqs - submitted);
            for (int i = 0; i < g.streams.size(); i++) {
                g.pump(i, params.get(i).n(), admission, metrics);
            }
            g.cancel();
            if (e instanceof InvalidRequestException ire) {
                throw ApiException.badRequest(ire.param(), ire.getMessage());
            }
            if (e instanceof JLightException) {
                metrics.rejected();
                throw ApiException.overloaded("The engine is not accepting requests: " + e.getMessage());
            }
            throw e;
        }
        for (int i = 0; i < g.streams.size(); i++) {
            g.pump(i, params.get(i).n(), admission, metrics);
        }
        return g;
    }

    private void pump(int prompt, int n, Admission admission, ServerMetrics metrics) {
        RequestStream s = streams.get(prompt);
        open++;
        Thread.ofVirtual().name("jlight-req-" + s.requestId()).start(() -> {
            int generated = 0;
            try {
                for (RequestOutput o = s.take(); o != null; o = s.take()) {
                    for (CompletionDelta d : o.choices()) {
                        if (d.finishReason() != null) {
                            metrics.finished(d.finishReason());
                        }
                    }
                    generated = o.generatedTokens();
                    if (o.finished()) {
                        record(metrics, o.timing(), generated, n);
                    }
                    events.add(new Event(prompt, o, null));
                }
            } catch (InterruptedException e) {
                s.cancel();
                events.add(new Event(prompt, null, new JLightException("interrupted")));
            } catch (RuntimeException e) {
                LOG.error("request {} failed in the engine: {}", s.requestId(), e.getMessage());
                metrics.failed();
                events.add(new Event(prompt, null, e));
            } finally {
                admission.release(n);
                events.add(END);
            }
        });
    }

    private static void record(ServerMetrics metrics, RequestTiming t, int generated, int n) {
        if (t == null) {
            return;
        }
        long now = System.nanoTime();
        double ttft = t.ttftNanos() < 0 ? -1 : t.ttftNanos() / 1e9;
        int perChoice = generated / Math.max(1, n);
        double tpot = perChoice > 1 && t.firstTokenNanos() > 0
                ? (t.lastTokenNanos() - t.firstTokenNanos()) / 1e9 / (perChoice - 1) : -1;
        metrics.latencies(ttft, tpot, (now - t.arrivalNanos()) / 1e9);
    }

    /** The next event in arrival order, blocking; null once every prompt's stream has ended. */
    Event next() throws InterruptedException {
        while (open > 0) {
            Event e = events.take();
            if (e == END) {
                open--;
                continue;
            }
            return e;
        }
        return null;
    }

    /** Aborts every engine request (a disconnect, a failure): their KV blocks are freed at the next step. */
    void cancel() {
        for (RequestStream s : streams) {
            s.cancel();
        }
    }

    int prompts() {
        return streams.size();
    }

    /**
     * Waits for every prompt to finish and folds each one's outputs; an engine failure is a 500
     * (not the client's fault), after the other prompts are aborted.
     */
    List<CompletionResult> collect() throws InterruptedException {
        List<List<RequestOutput>> outs = new ArrayList<>();
        for (int i = 0; i < streams.size(); i++) {
            outs.add(new ArrayList<>());
        }
        for (Event e = next(); e != null; e = next()) {
            if (e.error() != null) {
                cancel();
                throw ApiException.internal("The engine failed while generating: " + e.error().getMessage());
            }
            outs.get(e.prompt()).add(e.output());
        }
        List<CompletionResult> results = new ArrayList<>();
        for (List<RequestOutput> o : outs) {
            results.add(CompletionResult.fold(o));
        }
        return results;
    }
}
