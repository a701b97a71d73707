package dev.jlight.server.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.stream.Stream;

/**
 * Streams one completion or chat completion over SSE and times it. A content chunk is one whose
 * first choice carries non-empty text (completions) or delta.content (chat); a chunk with only
 * a role or a finish_reason is not a token and is not timed.
 */
public final class SseClient {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http;
    private final URI uri;
    private final String model;
    private final boolean chat;
    private final boolean ignoreEos;
    private final String apiKey;
    private final boolean tokenIds;

    public SseClient(String baseUrl, String endpoint, String model, boolean ignoreEos, String apiKey) {
        this(baseUrl, endpoint, model, ignoreEos, apiKey, false);
    }

    /** @param tokenIds send /v1/completions prompts that have token ids as the id list rather than text */
    public SseClient(String baseUrl, String endpoint, String model, boolean ignoreEos, String apiKey, boolean tokenIds) {
        this.tokenIds = tokenIds;
        String base = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        this.uri = URI.create(base + endpoint);
        this.chat = endpoint.endsWith("/chat/completions");
        this.model = model;
        this.ignoreEos = ignoreEos;
        this.apiKey = apiKey;
        this.http = HttpClient.newBuilder()
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(30))
                .build();
    }

    String body(BenchRequest r) {
        ObjectNode b = JSON.createObjectNode().put("model", model);
        if (chat) {
            b.putArray("messages").addObject().put("role", "user").put("content", r.prompt());
            b.put("max_completion_tokens", r.outputLen());
        } else {
            if (tokenIds && r.promptIds() != null) {
                var a = b.putArray("prompt");
                for (int id : r.promptIds()) {
                    a.add(id);
                }
            } else {
                b.put("prompt", r.prompt());
            }
            b.put("max_tokens", r.outputLen());
        }
        b.put("temperature", 0.0);
        b.put("stream", true);
        b.putObject("stream_options").put("include_usage", true);
        if (ignoreEos) {
            b.put("ignore_eos", true);
        }
        return b.toString();
    }

    /** Sends {@code r} and reads the whole stream; never throws. */
    public RequestResult send(BenchRequest r) {
        HttpRequest.Builder rb = HttpRequest.newBuilder(uri)
                .header("Content-Type", "application/json")
                .header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString(body(r)));
        if (apiKey != null && !apiKey.isEmpty()) {
            rb.header("Authorization", "Bearer " + apiKey);
        }
        long st = System.nanoTime();
        long last = st;
        double ttft = 0;
        boolean first = false;
        List<Double> itl = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        int outputTokens = 0;
        int promptTokens = -1;
        boolean done = false;
        try {
            HttpResponse<Stream<String>> resp = http.send(rb.build(), HttpResponse.BodyHandlers.ofLines());
            try (Stream<String> lines = resp.body()) {
                if (resp.statusCode() != 200) {
                    StringBuilder err = new StringBuilder("HTTP " + resp.statusCode() + ": ");
                    lines.limit(20).forEach(err::append);
                    return RequestResult.failed(err.toString());
                }
                Iterator<String> it = lines.iterator();
                while (it.hasNext()) {
                    String line = it.next();
                    long now = System.nanoTime();
                    if (!line.startsWith("data:")) {
                        continue;
                    }
                    String data = line.substring(5).strip();
                    if (data.equals("[DONE]")) {
                        done = true;
                        break;
                    }
                    JsonNode n = JSON.readTree(data);
                    if (n.has("error")) {
                        return RequestResult.failed("stream error: " + n.get("error"));
                    }
                    JsonNode choices = n.path("choices");
                    if (choices.isArray() && !choices.isEmpty()) {
                        JsonNode c0 = choices.get(0);
                        String piece = chat ? c0.path("delta").path("content").asText("") : c0.path("text").asText("");
                        if (!piece.isEmpty()) {
                            if (!first) {
                                first = true;
                                ttft = (now - st) / 1e9;
                            } else {
                                itl.add((now - last) / 1e9);
                            }
                            last = now;
                            text.append(piece);
                        }
                    }
                    JsonNode usage = n.path("usage");
                    if (usage.isObject()) {
                        outputTokens = usage.path("completion_tokens").asInt(0);
                        promptTokens = usage.path("prompt_tokens").asInt(-1);
                    }
                }
            }
        } catch (Exception e) {
            return RequestResult.failed(e.getClass().getSimpleName() + ": " + e.getMessage());
        }
        if (!done) {
            return RequestResult.failed("stream ended without [DONE]");
        }
        if (!first) {
            return RequestResult.failed("no content chunk in the stream");
        }
        return new RequestResult(true, ttft, itl, (last - st) / 1e9, outputTokens, promptTokens, text.toString(), "");
    }
}
