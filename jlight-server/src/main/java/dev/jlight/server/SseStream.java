package dev.jlight.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * Server-sent events as OpenAI writes them: {@code data: <json>\n\n} per chunk, flushed at once,
 * and {@code data: [DONE]\n\n} at the end. A write that fails means the client went away: the
 * caller aborts the request.
 */
final class SseStream {
    private final OutputStream out;

    SseStream(HttpServletResponse res) throws IOException {
        res.setStatus(200);
        res.setContentType("text/event-stream; charset=utf-8");
        res.setHeader("Cache-Control", "no-cache");
        res.setHeader("X-Accel-Buffering", "no");
        this.out = res.getOutputStream();
    }

    void send(JsonNode chunk) throws IOException {
        String json;
        try {
            json = JsonFields.JSON.writeValueAsString(chunk);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
        write("data: " + json + "\n\n");
    }

    void done() throws IOException {
        write("data: [DONE]\n\n");
    }

    private void write(String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }
}
