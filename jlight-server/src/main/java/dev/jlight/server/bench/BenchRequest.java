package dev.jlight.server.bench;

/**
 * One prompt of the benchmark.
 *
 * @param prompt    the text sent
 * @param promptIds the same prompt as token ids (random dataset with a tokenizer), else null
 * @param promptLen its length in tokens as the dataset knows it (-1 when unknown: the server's usage decides)
 * @param outputLen max_tokens for it
 */
public record BenchRequest(String prompt, int[] promptIds, int promptLen, int outputLen) {
    public BenchRequest(String prompt, int promptLen, int outputLen) {
        this(prompt, null, promptLen, outputLen);
    }
}
