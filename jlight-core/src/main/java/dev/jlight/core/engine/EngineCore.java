package dev.jlight.core.engine;

import dev.jlight.core.backend.KvCache;
import dev.jlight.core.engine.kv.BlockPool;
import dev.jlight.core.engine.kv.KvCacheManager;
import dev.jlight.core.engine.kv.PrefixCacheStats;
import dev.jlight.core.engine.sample.DeviceSampler;
import dev.jlight.core.engine.sample.SampledToken;
import dev.jlight.core.engine.sample.Sampler;
import dev.jlight.core.model.Model;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The engine's step, single-threaded (nano-vllm's LLMEngine): schedule, build the batch,
 * forward, sample, detokenize and check stops, publish. {@link Engine} runs it on its own
 * thread; tests drive it directly, step by step.
 *
 * <p>Overlapped (async) scheduling, vLLM v1's: when the model launches asynchronously and every
 * row of a step samples on the device, the step is launched and the engine goes on to await and apply the step before it, then
 * schedules and launches the next one, whose decodes take this step's picks as placeholders
 * (filled on the backend). So the host's output processing and scheduling run while the
 * backend computes, and the only wait is for the sampled ids. A sequence that ends on ids
 * applied late has its row in the step after discarded and keeps its blocks until that step is
 * awaited. Any step that is not device-sampled (logprobs, penalties, bias, min_tokens masking, a
 * host-sampling model) first drains the launched steps and runs synchronously (placeholders in it
 * are filled in on the host, from the drained step's ids), as does the step
 * after a schedule that wanted to preempt. Per-sequence RNG draws stay in step order, so seeded
 * requests give the same tokens either way.
 */
public final class EngineCore {
    private final EngineOptions options;
    private final Set<Integer> eos;
    private final TextDecoderFactory decoders;
    private final Scheduler scheduler;
    private final ModelRunner runner;
    private final Sampler sampler;
    private final RequestValidator validator;
    private final SplittableRandom seeds;
    private final Map<String, RequestState> requests = new LinkedHashMap<>();
    private final Map<Long, ChoiceState> choices = new HashMap<>();
    private boolean deviceSampling = !"false".equals(System.getProperty("jlight.deviceSampling"));
    private final boolean asyncScheduling;
    /** Launched steps not yet awaited, oldest first (at most two). */
    private final ArrayDeque<InFlight> inFlight = new ArrayDeque<>();
    private boolean drainFirst;
    private long deviceSampledSteps;
    private long asyncSteps;
    private long nextSeqId;
    private long steps;
    private long generatedTokens;
    private long admitted;
    private long finished;
    private long aborted;
    private long failed;

    public EngineCore(Model model, KvCache kvCache, EngineOptions options, Set<Integer> eosTokenIds,
                      TextDecoderFactory decoders) {
        int blockSize = kvCache.spec().blockSize();
        int numBlocks = kvCache.spec().numBlocks();
        this.options = options;
        this.eos = Set.copyOf(eosTokenIds);
        this.decoders = decoders;
        KvCacheManager kv = new KvCacheManager(new BlockPool(numBlocks, options.enablePrefixCaching()), blockSize);
        this.scheduler = new Scheduler(options.maxNumBatchedTokens(), options.maxNumSeqs(), kv, options.policy());
        this.runner = new ModelRunner(model, kvCache);
        this.sampler = new Sampler(model.vocabSize(), eos);
        this.validator = new RequestValidator(model.vocabSize(), options.maxModelLen(), numBlocks, blockSize);
        this.seeds = new SplittableRandom(options.seed());
        this.asyncScheduling = options.asyncScheduling();
    }

    /** A launched step and the choices of its logit rows. */
    private record InFlight(LaunchedStep launched, List<ChoiceState> rows) {
    }

    /** Admission checks; thread-safe (reads only immutable state). Returns the resolved max_tokens. */
    public int validate(EngineRequest req) {
        return validator.validate(req);
    }

    /** Admits a request; throws {@link InvalidRequestException} before anything enters the batch. */
    public void add(EngineRequest req, OutputSink sink) {
        add(req, sink, System.currentTimeMillis(), System.nanoTime());
    }

    void add(EngineRequest req, OutputSink sink, long arrivalEpochMillis, long arrivalNanos) {
        int maxTokens = validate(req);
        if (requests.containsKey(req.requestId())) {
            throw new InvalidRequestException("request_id", "a request with id " + req.requestId() + " is running");
        }
        SamplingParams p = req.params();
        RequestState state = new RequestState(req.requestId(), req.promptTokenIds().length, sink, arrivalEpochMillis,
                arrivalNanos);
        for (int i = 0; i < p.n(); i++) {      // first build everything that may throw (the decoder factory)
            SplittableRandom rng = p.seed() == null ? seeds.split() : new SplittableRandom(p.seed() + i);
            Sequence seq = new Sequence(nextSeqId++, req.promptTokenIds(), p, maxTokens, rng);
            state.choices.add(new ChoiceState(state, seq, i,
                    decoders.create(req.promptTokenIds(), p.skipSpecialTokens()), eos));
        }
        for (ChoiceState c : state.choices) {
            choices.put(c.seq.seqId(), c);
            // With prefix caching, siblings wait until the first choice has computed the prompt.
            if (c.index == 0 || !options.enablePrefixCaching()) {
                scheduler.add(c.seq);
            } else {
                state.held.add(c.seq);
            }
        }
        requests.put(req.requestId(), state);
        admitted++;
    }

    /** Ends a request now: its blocks are freed and a last output with finish reason "abort" is sent. */
    public boolean abort(String requestId) {
        RequestState state = requests.get(requestId);
        if (state == null) {
            return false;
        }
        for (ChoiceState c : state.choices) {
            if (!c.isFinished()) {
                scheduler.finish(c.seq);
                c.abort();
            }
        }
        state.held.clear();
        aborted++;
        publish(state);
        return true;
    }

    /** Aborts every live request (shutdown), then awaits the steps in flight so every block is free. */
    public void abortAll() {
        for (String id : liveRequests()) {
            abort(id);
        }
        drain();
    }

    /** Fails every live request without touching the (possibly broken) state: after an engine bug. */
    void failAll(Throwable error) {
        for (InFlight f : inFlight) {         // the model wants its launched steps awaited
            try {
                f.launched().ids();
            } catch (RuntimeException ignored) {
                // the step's requests fail below with the engine's error
            }
        }
        inFlight.clear();
        for (RequestState state : List.copyOf(requests.values())) {
            requests.remove(state.requestId);
            state.sink.fail(error);
        }
        choices.clear();
    }

    /** Whether a step would do something: sequences to run, or launched steps to await. */
    public boolean hasWork() {
        return scheduler.hasUnfinished() || !inFlight.isEmpty();
    }

    public boolean hasRequest(String requestId) {
        return requests.containsKey(requestId);
    }

    /**
     * Runs one step if there is work; returns false when idle. With overlapped scheduling a call
     * launches the next step and then waits for the one before it, so the host's output work and
     * next schedule run while the backend computes (see {@link #stepAsync}).
     */
    public boolean step() {
        if (!hasWork()) {
            return false;
        }
        if (drainFirst) {             // the last schedule wanted to preempt: it may once nothing is in flight
            drainFirst = false;
            drain();
        }
        SchedulerOutput out = scheduler.hasUnfinished() ? scheduler.schedule() : null;
        if (out == null || out.isEmpty()) {
            if (!inFlight.isEmpty()) {
                awaitOldest();        // everything runnable waits on ids in flight
            } else if (scheduler.hasUnfinished()) {
                throw new IllegalStateException("scheduler made no progress with " + scheduler.numRunning()
                        + " running and " + scheduler.numWaiting() + " waiting");
            }
            return true;
        }
        steps++;
        drainFirst = out.needsPreemption();
        List<ChoiceState> rows = samplingRows(out);
        // a model that computes on launch gains nothing from overlap, and would publish a step late
        if (asyncScheduling && runner.launchesAsync() && deviceSampling && runner.samplesOnDevice()
                && allEligible(rows)) {
            stepAsync(out, rows);
        } else {
            drain();                  // host sampling reads every earlier token: nothing may be in flight
            stepSync(out, rows);
        }
        return true;
    }

    /**
     * Launches the step (its rows' next tokens become placeholders), then, with two steps in
     * flight, awaits and applies the older one: at most two launched steps are unawaited.
     */
    private void stepAsync(SchedulerOutput out, List<ChoiceState> rows) {
        LaunchedStep launched;
        try {
            launched = runner.launch(out, DeviceSampler.spec(rows.stream().map(c -> c.seq).toList()));
        } catch (RuntimeException e) {
            scheduler.stepFailed(out);
            failStep(out, e);
            return;
        }
        for (ChoiceState c : rows) {
            c.seq.addPlaceholder();
        }
        inFlight.addLast(new InFlight(launched, rows));
        asyncSteps++;
        deviceSampledSteps++;
        if (inFlight.size() > 1) {
            awaitOldest();
        }
    }

    /** Runs the step to the end: on the device when every row allows it, else samples on the host. */
    private void stepSync(SchedulerOutput out, List<ChoiceState> rows) {
        boolean onDevice = deviceSampling && runner.samplesOnDevice() && allEligible(live(rows));
        float[] logits = null;
        int[] ids = null;
        try {
            if (onDevice) {
                ids = runner.runSampled(out, DeviceSampler.spec(rows.stream().map(c -> c.seq).toList()));
            } else {
                logits = runner.run(out);
            }
        } catch (RuntimeException e) {
            scheduler.stepFailed(out);
            failStep(out, e);
            return;
        }
        scheduler.stepDone(out);
        if (onDevice) {
            deviceSampledSteps++;
            int[] picked = ids;
            apply(rows, (row, c) -> new SampledToken(picked[row], null), false);
        } else {
            float[] l = logits;
            int vocab = runner.vocabSize();
            apply(rows, (row, c) -> sampler.sample(l, row * vocab, c.seq), false);
        }
    }

    /** Waits for the oldest launched step and applies its ids (a failure fails its requests). */
    private void awaitOldest() {
        InFlight f = inFlight.removeFirst();
        int[] ids;
        try {
            ids = f.launched().ids();
        } catch (RuntimeException e) {
            scheduler.stepFailed(f.launched().out());
            failStep(f.launched().out(), e);
            return;
        }
        scheduler.stepDone(f.launched().out());
        apply(f.rows(), (row, c) -> new SampledToken(ids[row], null), true);
    }

    /** Awaits and applies every launched step: afterwards no token is a placeholder. */
    private void drain() {
        while (!inFlight.isEmpty()) {
            awaitOldest();
        }
    }

    /** How a step's row becomes a token (the host sampler draws from the sequence's RNG here). */
    @FunctionalInterface
    private interface RowToken {
        SampledToken pick(int row, ChoiceState choice);
    }

    /**
     * Appends each row's token to its sequence (resolving its placeholder when launched async),
     * runs the stop checks and publishes. Rows of sequences that ended since the step was
     * scheduled (a stop found in an earlier step's ids, an abort, a failure) are discarded.
     */
    private void apply(List<ChoiceState> rows, RowToken token, boolean placeholders) {
        Set<RequestState> touched = new LinkedHashSet<>();
        long now = System.nanoTime();
        for (int row = 0; row < rows.size(); row++) {
            ChoiceState c = rows.get(row);
            if (!choices.containsKey(c.seq.seqId()) || c.seq.isFinished()) {
                continue;
            }
            try {
                onSampled(c, token.pick(row, c), now, placeholders);
                touched.add(c.request);
            } catch (RuntimeException e) {      // a sampler or text decoder bug: fail this request only
                touched.remove(c.request);
                fail(c.request, e);
            }
        }
        for (RequestState state : touched) {
            if (publish(state)) {
                finished++;
            }
        }
    }

    /** The choices of the step's sampling sequences, one per logit row, in scheduler order. */
    private List<ChoiceState> samplingRows(SchedulerOutput out) {
        List<ChoiceState> rows = new ArrayList<>();
        for (ScheduledSeq sc : out.seqs()) {
            if (sc.samples()) {
                rows.add(choices.get(sc.seqId()));
            }
        }
        return rows;
    }

    private static List<ChoiceState> live(List<ChoiceState> rows) {
        return rows.stream().filter(c -> !c.seq.isFinished()).toList();
    }

    private boolean allEligible(List<ChoiceState> rows) {
        for (ChoiceState c : rows) {
            if (!DeviceSampler.eligible(c.seq, eos)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Lets the backend pick the tokens when it can and every row of the step allows it (the
     * default; -Djlight.deviceSampling=false turns it off), else the host samples downloaded logits.
     */
    public void setDeviceSampling(boolean on) {
        this.deviceSampling = on;
    }

    /** Steps whose tokens the backend picked. */
    public long deviceSampledSteps() {
        return deviceSampledSteps;
    }

    /** Launched steps not yet awaited (0 to 2). */
    int stepsInFlight() {
        return inFlight.size();
    }

    /** Steps launched overlapped with the host work around them (a subset of the device-sampled ones). */
    public long asyncSteps() {
        return asyncSteps;
    }

    private void onSampled(ChoiceState c, SampledToken t, long now, boolean placeholder) {
        Sequence seq = c.seq;
        RequestState state = c.request;
        if (placeholder) {
            seq.resolvePlaceholder(t.tokenId());
        } else {
            seq.appendToken(t.tokenId());
        }
        generatedTokens++;
        if (state.firstTokenNanos == 0) {
            state.firstTokenNanos = now;
        }
        state.lastTokenNanos = now;
        if (c.onToken(t.tokenId(), t.logprobs()) != null) {
            scheduler.finish(seq);
        }
        if (c.index == 0 && !state.held.isEmpty()) {
            for (Sequence sibling : state.held) {
                scheduler.add(sibling);
            }
            state.held.clear();
        }
    }

    /** Sends the request's update; returns true when it was the last one. */
    private boolean publish(RequestState state) {
        RequestOutput o = state.drain();
        boolean done = state.isFinished();
        if (done) {
            forget(state);
        }
        if (o != null) {
            state.sink.accept(o);
        }
        return done;
    }

    /**
     * The model threw: the requests in this step are failed and freed; the others go on. (The
     * rows of a step launched after it that took its picks all belong to these requests, and
     * are discarded when that step is applied.)
     */
    private void failStep(SchedulerOutput out, RuntimeException e) {
        Set<RequestState> hit = new LinkedHashSet<>();
        for (ScheduledSeq sc : out.seqs()) {
            ChoiceState c = choices.get(sc.seqId());
            if (c != null) {              // null: its request ended since the step was scheduled
                hit.add(c.request);
            }
        }
        for (RequestState state : hit) {
            fail(state, e);
        }
    }

    private void fail(RequestState state, RuntimeException e) {
        for (ChoiceState c : state.choices) {
            scheduler.finish(c.seq);
            c.abort();
        }
        state.held.clear();
        forget(state);
        failed++;
        state.sink.fail(e);
    }

    private void forget(RequestState state) {
        requests.remove(state.requestId);
        for (ChoiceState c : state.choices) {
            choices.remove(c.seq.seqId());
        }
    }

    public EngineMetrics metrics() {
        KvCacheManager kv = scheduler.kv();
        PrefixCacheStats pc = kv.stats();
        int held = 0;
        for (RequestState s : requests.values()) {
            held += s.held.size();
        }
        return new EngineMetrics(scheduler.numRunning(), scheduler.numWaiting() + held, kv.pool().usage(),
                pc.queriedTokens(), pc.hitTokens(), scheduler.numPreemptions(), steps, runner.tokensForwarded(),
                generatedTokens, admitted, finished, aborted, failed, deviceSampledSteps, asyncSteps);
    }

    /** Ids of the live requests, in admission order. */
    public List<String> liveRequests() {
        return List.copyOf(requests.keySet());
    }

    /** Throws when any bookkeeping disagrees (tests call it after every operation). */
    public void checkInvariants() {
        scheduler.checkInvariants();
        int live = 0;
        for (RequestState s : requests.values()) {
            for (ChoiceState c : s.choices) {
                if (c.isFinished() != c.seq.isFinished() && !s.held.contains(c.seq)) {
                    throw new IllegalStateException("choice " + c.index + " of " + s.requestId + ": " + c.finishReason()
                            + " but " + c.seq);
                }
                live += c.isFinished() ? 0 : 1;
            }
        }
        int held = 0;
        for (RequestState s : requests.values()) {
            held += s.held.size();
        }
        if (live != scheduler.numRunning() + scheduler.numWaiting() + held) {
            throw new IllegalStateException(live + " live choices but " + scheduler.numRunning() + " running, "
                    + scheduler.numWaiting() + " waiting and " + held + " held");
        }
    }

    public Scheduler scheduler() {
        return scheduler;
    }
}
