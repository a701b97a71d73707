package dev.jlight.server;

import dev.jlight.core.engine.EngineClient;
import java.util.List;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What the endpoints share: the loaded runtime, the options and caps, metrics and admission. */
final class Serving {
    private static final Logger LOG = LoggerFactory.getLogger(Serving.class);

    final ServerRuntime runtime;
    final EngineClient engine;
    final ServerOptions options;
    final ServerMetrics metrics;
    final Admission admission;
    final TokenText tokenText;

    Serving(ServerRuntime runtime, ServerOptions options, ServerMetrics metrics) {
        this.runtime = runtime;
        this.engine = runtime.engine();
        this.options = options;
        this.metrics = metrics;
        this.admission = new Admission(runtime.options().maxNumSeqs() + options.maxWaitingRequests());
        this.tokenText = new TokenText(runtime.tokenizer());
    }

    /** The name to report for a request's {@code model} field: absent means the served model; another name is a 404. */
    String model(String asked) {
        if (asked == null) {
            return options.modelName();
        }
        if (options.servedModelNames().contains(asked)) {
            return asked;
        }
        throw ApiException.modelNotFound(asked);
    }

    /** vLLM logs and ignores fields it does not know; so do we. */
    void warnUnknown(String endpoint, JsonFields f) {
        List<String> unknown = f.unknown();
        if (!unknown.isEmpty()) {
            LOG.warn("{}: the request has fields that are ignored: {}", endpoint, unknown);
        }
    }

    static String newId(String prefix) {
        return prefix + UUID.randomUUID().toString().replace("-", "");
    }

    int maxModelLen() {
        return runtime.maxModelLen();
    }

    long kvTokens() {
        return runtime.kvCapacityTokens();
    }
}
