package dev.jlight.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jlight.core.JLightException;
import dev.jlight.core.tokenizer.Tokenizer;
import io.javalin.Javalin;
import io.javalin.compression.CompressionStrategy;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HttpResponseException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.ServerConnector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OpenAI-compatible HTTP server (vLLM's {@code vllm serve} API) on Javalin with virtual
 * threads: completions, chat completions, models, tokenize/detokenize, health, version and
 * Prometheus metrics; API-key auth, body-size and admission limits, OpenAI-shaped errors, and a
 * graceful shutdown.
 */
public final class OpenAiServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OpenAiServer.class);
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    public static final String VERSION = "0.1.0";
    private static final String ERROR_WRITTEN = "jlight.error-written";
    /** Idle connections and stalled requests are closed after this long (long non-streamed generations included). */
    private static final long IDLE_TIMEOUT_MS = 600_000;

    private final ServerRuntime runtime;
    private final ServerOptions options;
    private final Serving serving;
    private final ServerMetrics metrics;
    private final byte[] apiKeyHash;
    private final ChatEndpoint chat;
    private final CompletionsEndpoint completions;
    private final AtomicInteger activeHandlers = new AtomicInteger();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final long createdSeconds = System.currentTimeMillis() / 1000;
    private Javalin app;
    private boolean shutDown;

    private OpenAiServer(ServerRuntime runtime, ServerOptions options) {
        this.runtime = runtime;
        this.options = options;
        this.metrics = new ServerMetrics(options.modelName(), runtime.engine()::metrics);
        this.serving = new Serving(runtime, options, metrics);
        this.apiKeyHash = options.apiKey() == null ? null : sha256(options.apiKey());
        this.chat = new ChatEndpoint(serving);
        this.completions = new CompletionsEndpoint(serving);
    }

    /** Starts listening; the runtime is loaded already, so the port opens only when the model is ready. */
    public static OpenAiServer start(ServerRuntime runtime, ServerOptions options) {
        OpenAiServer s = new OpenAiServer(runtime, options);
        s.app = s.create();
        try {
            s.app.start(options.host(), options.port());
        } catch (RuntimeException e) {
            throw new JLightException("cannot listen on " + options.host() + ":" + options.port() + ": "
                    + rootMessage(e), e);
        }
        for (Connector c : s.app.jettyServer().server().getConnectors()) {
            if (c instanceof ServerConnector sc) {
                sc.setIdleTimeout(IDLE_TIMEOUT_MS);
            }
        }
        return s;
    }

    private Javalin create() {
        return Javalin.create(config -> {
            config.concurrency.useVirtualThreads = true;
            config.startup.showJavalinBanner = false;
            config.startup.showOldJavalinVersionWarning = false;
            config.http.prefer405over404 = true;
            config.http.maxRequestSize = options.maxRequestBodyBytes();
            config.http.compressionStrategy = CompressionStrategy.NONE;
            config.routes.before(this::before);
            config.routes.get("/health", ctx -> ctx.status(serving.admission.draining() ? 503 : 200));
            config.routes.get("/version", ctx -> json(ctx, 200, F.objectNode().put("version", VERSION)));
            config.routes.get("/v1/models", this::models);
            config.routes.get("/metrics", ctx -> ctx.status(200)
                    .contentType("text/plain; version=0.0.4; charset=utf-8").result(metrics.render()));
            config.routes.post(CompletionsEndpoint.PATH, generation(completions::handle));
            config.routes.post(ChatEndpoint.PATH, generation(chat::handle));
            config.routes.post("/tokenize", body(this::tokenize));
            config.routes.post("/detokenize", body(this::detokenize));
            config.routes.exception(ApiException.class, (e, ctx) -> writeError(ctx, e));
            config.routes.exception(HttpResponseException.class, (e, ctx) -> writeError(ctx, mapJavalin(e, ctx)));
            config.routes.exception(Exception.class, (e, ctx) -> {
                LOG.error("internal error on {} {}", ctx.method(), ctx.path(), e);
                writeError(ctx, ApiException.internal("Internal server error: " + e.getClass().getSimpleName()));
            });
            config.routes.error(404, ctx -> {
                if (ctx.attribute(ERROR_WRITTEN) == null) {
                    writeError(ctx, ApiException.notFound(ctx.method().toString(), ctx.path()));
                }
            });
            config.routes.error(405, ctx -> {
                if (ctx.attribute(ERROR_WRITTEN) == null) {
                    writeError(ctx, ApiException.methodNotAllowed(ctx.method().toString(), ctx.path()));
                }
            });
        });
    }

    /** A handler of a JSON body. */
    @FunctionalInterface
    private interface BodyHandler {
        void handle(Context ctx, JsonFields body) throws Exception;
    }

    private Handler body(BodyHandler h) {
        return ctx -> h.handle(ctx, JsonFields.parse(readBody(ctx)));
    }

    /** A generation endpoint: counted for the graceful shutdown. */
    private Handler generation(BodyHandler h) {
        return ctx -> {
            activeHandlers.incrementAndGet();
            try {
                h.handle(ctx, JsonFields.parse(readBody(ctx)));
            } finally {
                activeHandlers.decrementAndGet();
            }
        };
    }

    private void before(Context ctx) {
        ctx.header("Server", "jlight/" + VERSION);
        if (apiKeyHash != null && !ctx.path().equals("/health")) {
            String auth = ctx.header("Authorization");
            String key = auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7) ? auth.substring(7).trim() : "";
            // Hashing first makes the comparison constant-time whatever the lengths.
            if (!MessageDigest.isEqual(apiKeyHash, sha256(key))) {
                ctx.header("WWW-Authenticate", "Bearer");
                throw ApiException.unauthorized();
            }
        }
    }

    /** The body, up to --max-request-body-bytes (413 beyond, also before reading when Content-Length says so). */
    private byte[] readBody(Context ctx) throws IOException {
        long limit = options.maxRequestBodyBytes();
        long declared = ctx.req().getContentLengthLong();
        if (declared > limit) {
            ctx.header("Connection", "close");
            throw ApiException.tooLarge(limit);
        }
        try (InputStream in = ctx.req().getInputStream()) {
            byte[] b = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, limit + 1));
            if (b.length > limit) {
                ctx.header("Connection", "close");
                throw ApiException.tooLarge(limit);
            }
            return b;
        }
    }

    private void models(Context ctx) {
        ObjectNode body = F.objectNode().put("object", "list");
        ArrayNode data = body.putArray("data");
        for (String name : options.servedModelNames()) {
            ObjectNode m = data.addObject();
            m.put("id", name);
            m.put("object", "model");
            m.put("created", createdSeconds);
            m.put("owned_by", "jlight");
            m.put("root", runtime.folder().toString());
            m.putNull("parent");
            m.put("max_model_len", runtime.maxModelLen());
            // extra fields (OpenAI clients ignore them), so clients can tell which family is served
            m.put("architecture", runtime.architecture());
            m.put("model_type", runtime.modelType());
        }
        json(ctx, 200, body);
    }

    /** vLLM's /tokenize: a prompt, or messages through the chat template. */
    private void tokenize(Context ctx, JsonFields f) {
        serving.model(f.string("model"));
        Tokenizer tok = runtime.tokenizer();
        int[] ids;
        if (f.has("messages")) {
            String text = ChatPrompt.render(serving, f);
            ids = tok.encode(text, f.bool("add_special_tokens", false));
        } else {
            String prompt = f.string("prompt");
            if (prompt == null) {
                throw ApiException.badRequest("prompt", "prompt (a string) or messages is required");
            }
            ids = tok.encode(prompt, f.bool("add_special_tokens", true));
        }
        boolean strs = f.bool("return_token_strs", false);
        serving.warnUnknown("/tokenize", f);
        ObjectNode body = F.objectNode();
        body.put("count", ids.length);
        body.put("max_model_len", runtime.maxModelLen());
        ArrayNode tokens = body.putArray("tokens");
        for (int id : ids) {
            tokens.add(id);
        }
        if (strs) {
            ArrayNode s = body.putArray("token_strs");
            for (int id : ids) {
                s.add(tok.idToToken(id));
            }
        } else {
            body.putNull("token_strs");
        }
        json(ctx, 200, body);
    }

    private void detokenize(Context ctx, JsonFields f) {
        serving.model(f.string("model"));
        ArrayNode tokens = f.array("tokens");
        if (tokens == null) {
            throw ApiException.badRequest("tokens", "tokens (an array of token ids) is required");
        }
        int vocab = runtime.model().vocabSize();
        int[] ids = new int[tokens.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = SamplingRequest.tokenId("tokens", tokens.get(i));
            if (ids[i] >= vocab) {
                throw ApiException.badRequest("tokens", "token id " + ids[i] + " is outside the vocabulary of " + vocab);
            }
        }
        serving.warnUnknown("/detokenize", f);
        json(ctx, 200, F.objectNode().put("prompt", runtime.tokenizer().decode(ids, false)));
    }

    private static ApiException mapJavalin(HttpResponseException e, Context ctx) {
        return switch (e.getStatus()) {
            case 404 -> ApiException.notFound(ctx.method().toString(), ctx.path());
            case 405 -> ApiException.methodNotAllowed(ctx.method().toString(), ctx.path());
            case 413 -> ApiException.tooLarge(-1);
            default -> new ApiException(e.getStatus(), e.getStatus() >= 500 ? "server_error" : "invalid_request_error",
                    e.getMessage(), null, null);
        };
    }

    private static void writeError(Context ctx, ApiException e) {
        if (e.status() >= 500) {
            LOG.warn("{} {}: {} {}", ctx.method(), ctx.path(), e.status(), e.getMessage());
        } else {
            LOG.debug("{} {}: {} {}", ctx.method(), ctx.path(), e.status(), e.getMessage());
        }
        if (e.status() == 503) {
            ctx.header("Retry-After", "1");
        }
        ctx.attribute(ERROR_WRITTEN, Boolean.TRUE);
        if (ctx.res().isCommitted()) {
            return;
        }
        json(ctx, e.status(), errorBody(e));
    }

    static ObjectNode errorBody(ApiException e) {
        ObjectNode body = F.objectNode();
        ObjectNode err = body.putObject("error");
        err.put("message", e.getMessage());
        err.put("type", e.type());
        if (e.param() == null) {
            err.putNull("param");
        } else {
            err.put("param", e.param());
        }
        if (e.code() == null) {
            err.putNull("code");
        } else {
            err.put("code", e.code());
        }
        return body;
    }

    static void json(Context ctx, int status, JsonNode body) {
        try {
            ctx.status(status).contentType("application/json").result(JsonFields.JSON.writeValueAsBytes(body));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String rootMessage(Throwable t) {
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() != null ? t.getMessage() : t.toString();
    }

    public int port() {
        return app.port();
    }

    /** {@code http://host:port}; a wildcard host is shown as this machine's name. */
    public String url() {
        String host = options.host();
        if (host == null || host.isEmpty() || host.equals("0.0.0.0") || host.equals("::")) {
            try {
                host = InetAddress.getLocalHost().getHostName();
            } catch (UnknownHostException e) {
                host = "localhost";
            }
        }
        return "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port();
    }

    public ServerRuntime runtime() {
        return runtime;
    }

    public ServerMetrics metrics() {
        return metrics;
    }

    /** Sequences admitted and not yet finished. */
    public int inFlight() {
        return serving.admission.inFlight();
    }

    /**
     * Graceful stop: refuse new requests (503), let running ones finish for up to the grace
     * period, abort the rest (their streams end with finish_reason "abort"), then close the port
     * and free the model.
     */
    public void shutdown() {
        synchronized (this) {
            if (shutDown) {
                return;
            }
            shutDown = true;
        }
        try {
            serving.admission.drain();
            long deadline = System.nanoTime() + options.shutdownGrace().toNanos();
            int running = serving.admission.inFlight();
            if (running > 0) {
                LOG.info("shutting down: waiting up to {} s for {} running sequences", options.shutdownGrace()
                        .toSeconds(), running);
            }
            if (!serving.admission.awaitIdle(deadline)) {
                LOG.info("shutting down: aborting {} sequences still running", serving.admission.inFlight());
            }
            runtime.engine().close();      // aborts what is left; each stream gets its last chunk
            long handlersDeadline = System.nanoTime() + 2_000_000_000L;
            while (activeHandlers.get() > 0 && System.nanoTime() < handlersDeadline) {
                Thread.sleep(10);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            app.stop();
            runtime.close();
            LOG.info("server stopped");
            stopped.countDown();
        }
    }

    /** Blocks until {@link #shutdown()} has finished. */
    public void awaitStopped() throws InterruptedException {
        stopped.await();
    }

    @Override
    public void close() {
        shutdown();
    }
}
