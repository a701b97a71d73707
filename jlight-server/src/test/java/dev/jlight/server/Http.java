package dev.jlight.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Raw HTTP/1.1 against a test server (java.net.http), JSON in and out. */
final class Http {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

    record Response(int status, String body, java.net.http.HttpHeaders headers) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON (status " + status + "): " + body, e);
            }
        }

        /** The {@code data:} payloads of an SSE body, checking the framing of every event. */
        List<String> events() {
            assertEquals(200, status, body);
            assertTrue(headers.firstValue("content-type").orElse("").startsWith("text/event-stream"),
                    headers.toString());
            assertTrue(body.endsWith("data: [DONE]\n\n"), "stream must end with data: [DONE]: " + tail(body));
            List<String> out = new ArrayList<>();
            for (String e : body.split("\n\n", -1)) {
                if (e.isEmpty()) {
                    continue;
                }
                assertTrue(e.startsWith("data: ") && !e.contains("\n"), "bad SSE event: " + e);
                out.add(e.substring(6));
            }
            assertEquals("[DONE]", out.getLast());
            assertEquals(1, out.stream().filter("[DONE]"::equals).count(), "exactly one [DONE]");
            return out.subList(0, out.size() - 1);
        }

        /** The JSON chunks of an SSE body. */
        List<JsonNode> chunks() {
            List<JsonNode> out = new ArrayList<>();
            for (String e : events()) {
                try {
                    out.add(JSON.readTree(e));
                } catch (IOException ex) {
                    throw new AssertionError("chunk is not JSON: " + e, ex);
                }
            }
            return out;
        }
    }

    private final String base;
    private final String key;

    Http(OpenAiServer server, String key) {
        this.base = "http://127.0.0.1:" + server.port();
        this.key = key;
    }

    static Http shared() {
        return new Http(TestServers.shared(), TestServers.KEY);
    }

    Response post(String path, String body) {
        return send("POST", path, body, key);
    }

    Response post(String path, JsonNode body) {
        return post(path, body.toString());
    }

    Response get(String path) {
        return send("GET", path, null, key);
    }

    /**
     * A POST that sends its headers with {@code Expect: 100-continue} and the body only when the
     * server asks for it, as curl does for large bodies: a server that refuses the body by its
     * Content-Length answers before any of it is sent, so the answer cannot be lost to a
     * connection reset while the body is still being written.
     */
    Response postExpectContinue(String path, String body) {
        return send("POST", path, body, key, true);
    }

    Response send(String method, String path, String body, String apiKey) {
        return send(method, path, body, apiKey, false);
    }

    private Response send(String method, String path, String body, String apiKey, boolean expectContinue) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(120))
                .expectContinue(expectContinue)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        if (apiKey != null) {
            b.header("Authorization", "Bearer " + apiKey);
        }
        try {
            HttpResponse<String> r = CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new Response(r.statusCode(), r.body(), r.headers());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static com.fasterxml.jackson.databind.node.ObjectNode obj() {
        return JSON.createObjectNode();
    }

    private static String tail(String s) {
        return s.length() < 300 ? s : "..." + s.substring(s.length() - 300);
    }
}
