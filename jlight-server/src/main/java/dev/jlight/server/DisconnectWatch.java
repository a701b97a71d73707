package dev.jlight.server;

import dev.jlight.core.engine.CompletionResult;
import io.javalin.http.Context;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CancellationException;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.io.AbstractEndPoint;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Notices that the client of a non-streamed request went away while the engine works on it, so
 * that the request is aborted and its KV blocks freed instead of generating to max_tokens for
 * nobody (vLLM polls {@code request.is_disconnected()} for the same reason). Streamed requests
 * need no watch: their next write fails.
 *
 * <p>Jetty 12 does not read an HTTP/1 connection while its request is being handled, so neither
 * the request's failure listeners nor the connection's close listeners fire when the client
 * resets or half-closes an idle socket (checked: both stay silent until the handler returns). The
 * watch therefore asks the endpoint itself for read interest: the selector wakes it at once on a
 * FIN or an RST, and a fill then returns -1. Bytes that do arrive are a pipelined request; they
 * cannot be handed back to Jetty, so they are dropped and the response closes the connection
 * (a client must retry requests the server closed on, RFC 9112 9.3.2). The read interest is
 * withdrawn before the response is written, so keep-alive goes on as before. Failure listeners
 * cover the rest: HTTP/2 stream resets, idle timeouts, a stopping server.
 */
final class DisconnectWatch implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DisconnectWatch.class);
    /** How the watch withdraws its own read interest; told apart from real failures by identity. */
    private static final Throwable WITHDRAWN = new CancellationException("disconnect watch closed");
    private static final int PROBE_BYTES = 512;

    private final Runnable onDisconnect;
    private final HttpServletResponse response;
    private final AbstractEndPoint endPoint;
    private final Callback onReadable = Callback.from(this::readable, this::readFailed);
    private boolean watching = true;
    private boolean readInterest;
    private boolean disconnected;

    private DisconnectWatch(Runnable onDisconnect, HttpServletResponse response, AbstractEndPoint endPoint) {
        this.onDisconnect = onDisconnect;
        this.response = response;
        this.endPoint = endPoint;
    }

    /**
     * Waits for a non-streamed generation's results, aborting it if the client goes away first;
     * null then, as there is nobody left to answer.
     */
    static List<CompletionResult> collect(Context ctx, Generation g, String id) throws InterruptedException {
        try (DisconnectWatch w = start(ctx.req(), ctx.res(), g::cancel)) {
            List<CompletionResult> results = g.collect();
            if (w.disconnected()) {
                LOG.debug("{}: client went away while waiting; request aborted", id);
                return null;
            }
            return results;
        }
    }

    /** Watches the request's connection until {@link #close()}; runs {@code onDisconnect} at most once. */
    static DisconnectWatch start(HttpServletRequest req, HttpServletResponse res, Runnable onDisconnect) {
        Request core;
        try {
            core = ServletContextRequest.getServletContextRequest(req);
        } catch (IllegalStateException e) {
            LOG.debug("no Jetty request behind {}: disconnects are not watched", req);
            return new DisconnectWatch(onDisconnect, res, null);
        }
        HttpVersion version = core.getConnectionMetaData().getHttpVersion();
        EndPoint ep = core.getConnectionMetaData().getConnection().getEndPoint();
        // Only an HTTP/1 endpoint carries this one request; on HTTP/2 its bytes belong to every stream.
        boolean http1 = version == HttpVersion.HTTP_1_1 || version == HttpVersion.HTTP_1_0;
        DisconnectWatch w = new DisconnectWatch(onDisconnect, res,
                http1 && ep instanceof AbstractEndPoint a ? a : null);
        core.addFailureListener(w::failed);
        w.awaitReadable();
        return w;
    }

    synchronized boolean disconnected() {
        return disconnected;
    }

    private synchronized void awaitReadable() {
        if (watching && endPoint != null) {
            readInterest = endPoint.tryFillInterested(onReadable);
        }
    }

    private synchronized void readable() {
        readInterest = false;
        if (!watching) {
            return;
        }
        int n;
        try {
            n = endPoint.fill(BufferUtil.allocate(PROBE_BYTES));
        } catch (IOException e) {
            n = -1;
        }
        if (n < 0) {
            disconnect("closed its connection");
            return;
        }
        if (n > 0) {
            LOG.debug("dropped {} bytes pipelined behind a running request; the connection closes after it", n);
            response.setHeader("Connection", "close");
        }
        awaitReadable();
    }

    private synchronized void readFailed(Throwable t) {
        readInterest = false;
        if (t != WITHDRAWN) {
            failed(t);
        }
    }

    private synchronized void failed(Throwable t) {
        if (watching) {
            disconnect("failed (" + t + ")");
        }
    }

    private void disconnect(String how) {
        watching = false;
        disconnected = true;
        LOG.debug("client {}", how);
        onDisconnect.run();
    }

    /** Stops watching, before the response is written; the connection reads for itself again. */
    @Override
    public synchronized void close() {
        watching = false;
        if (readInterest) {
            readInterest = false;
            endPoint.getFillInterest().onFail(WITHDRAWN);
        }
    }
}
