package dev.jlight.core.engine;

import dev.jlight.core.backend.KvCache;
import dev.jlight.core.engine.kv.BlockPool;
import dev.jlight.core.engine.kv.KvCacheManager;
import dev.jlight.core.engine.kv.PrefixCacheStats;
import dev.jlight.core.engine.sample.DeviceSampler;
import dev.jlight.core.engine.sample.SampledToken;
import dev.jlight.core.engine.sample.Sampler;
import dev.jlight.core.model.Model;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The engine's step, single-threaded and synchronous (nano-vllm's LLMEngine): schedule, build
 * the batch, forward, sample, detokenize and check stops, publish. {@link Engine} runs it on
 * its own thread; tests drive it directly, step by step.
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
    private long deviceSampledSteps;
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

    /** Aborts every live request (shutdown). */
    public void abortAll() {
        for (String id : liveRequests()) {
            abort(id);
        }
    }

    /** Fails every live request without touching the (possibly broken) state: after an engine bug. */
    void failAll(Throwable error) {
        for (RequestState state : java.util.List.copyOf(requests.values())) {
            requests.remove(state.requestId);
            state.sink.fail(error);
        }
        choices.clear();
    }

    public boolean hasWork() {
        return scheduler.hasUnfinished();
    }

    public boolean hasRequest(String requestId) {
        return requests.containsKey(requestId);
    }

    /** Runs one step if there is work; returns false when idle. */
    public boolean step() {
        if (!scheduler.hasUnfinished()) {
            return false;
        }
        SchedulerOutput out = scheduler.schedule();
        if (out.isEmpty()) {
            throw new IllegalStateException("scheduler made no progress with " + scheduler.numRunning() + " running and "
                    + scheduler.numWaiting() + " waiting");
        }
        steps++;
        java.util.List<ChoiceState> rows = samplingRows(out);
        boolean onDevice = deviceSampling && runner.samplesOnDevice() && allEligible(rows);
        float[] logits = null;
        int[] ids = null;
        try {
            if (onDevice) {
                ids = runner.runSampled(out, DeviceSampler.spec(rows.stream().map(c -> c.seq).toList()));
            } else {
                logits = runner.run(out);
            }
        } catch (RuntimeException e) {
            failStep(out, e);
            return true;
        }
        scheduler.stepDone();
        if (onDevice) {
            deviceSampledSteps++;
        }
        Set<RequestState> touched = new LinkedHashSet<>();
        long now = System.nanoTime();
        int vocab = runner.vocabSize();
        for (int row = 0; row < rows.size(); row++) {
            ChoiceState c = rows.get(row);
            if (!choices.containsKey(c.seq.seqId())) {
                continue;                       // its request failed earlier in this loop
            }
            try {
                SampledToken t = onDevice ? new SampledToken(ids[row], null)
                        : sampler.sample(logits, row * vocab, c.seq);
                onSampled(c, t, now);
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
        return true;
    }

    /** The choices of the step's sampling sequences, one per logit row, in scheduler order. */
    private java.util.List<ChoiceState> samplingRows(SchedulerOutput out) {
        java.util.List<ChoiceState> rows = new java.util.ArrayList<>();
        for (ScheduledSeq sc : out.seqs()) {
            if (sc.samples()) {
                rows.add(choices.get(sc.seqId()));
            }
        }
        return rows;
    }

    private boolean allEligible(java.util.List<ChoiceState> rows) {
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

    private void onSampled(ChoiceState c, SampledToken t, long now) {
        Sequence seq = c.seq;
        RequestState state = c.request;
        seq.appendToken(t.tokenId());
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

    /** The model threw: the requests in this step are failed and freed; the others go on. */
    private void failStep(SchedulerOutput out, RuntimeException e) {
        Set<RequestState> hit = new LinkedHashSet<>();
        for (ScheduledSeq sc : out.seqs()) {
            hit.add(choices.get(sc.seqId()).request);
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
                generatedTokens, admitted, finished, aborted, failed, deviceSampledSteps);
    }

    /** Ids of the live requests, in admission order. */
    public java.util.List<String> liveRequests() {
        return java.util.List.copyOf(requests.keySet());
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
