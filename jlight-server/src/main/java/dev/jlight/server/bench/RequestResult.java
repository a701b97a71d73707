package dev.jlight.server.bench;

import java.util.List;

/**
 * What one request gave, times in seconds as in vLLM's RequestFuncOutput.
 *
 * @param success      the stream ended with [DONE] after at least one chunk and no error
 * @param ttft         send to first content chunk
 * @param itl          gaps between successive content chunks
 * @param latency      send to last content chunk
 * @param outputTokens completion_tokens from the usage chunk (or counted with the tokenizer), 0 if unknown
 * @param promptTokens prompt_tokens from the usage chunk, -1 if absent
 * @param text         the generated text
 * @param error        the error, empty on success
 */
public record RequestResult(boolean success, double ttft, List<Double> itl, double latency, int outputTokens,
                            int promptTokens, String text, String error) {
    static RequestResult failed(String error) {
        return new RequestResult(false, 0, List.of(), 0, 0, -1, "", error);
    }
}
