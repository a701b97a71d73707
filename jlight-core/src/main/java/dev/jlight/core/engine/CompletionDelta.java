package dev.jlight.core.engine;

import java.util.List;

/**
 * What one choice (sequence) of a request produced since the previous output.
 *
 * @param index        the choice's index in [0, n)
 * @param tokenIds     new token ids (a stop token is included; its text is not, unless asked)
 * @param text         new text; held back while it could be the start of a stop string
 * @param logprobs     one entry per new token when the request asked for logprobs, else null
 * @param finishReason null while the choice runs
 * @param stopReason   the stop string or stop token id that ended it (null for EOS, length, abort)
 */
public record CompletionDelta(int index, int[] tokenIds, String text, List<TokenLogprobs> logprobs,
                              FinishReason finishReason, Object stopReason) {
    public boolean finished() {
        return finishReason != null;
    }
}
