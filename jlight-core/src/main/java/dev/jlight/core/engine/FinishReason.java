package dev.jlight.core.engine;

/** Why a sequence ended, with OpenAI's wire name. */
public enum FinishReason {
    /** EOS, a stop token id or a stop string. */
    STOP("stop"),
    /** max_tokens reached. */
    LENGTH("length"),
    /** Aborted by the client, the engine's shutdown or a failed step. */
    ABORT("abort");

    private final String wireName;

    FinishReason(String wireName) {
        this.wireName = wireName;
    }

    public String wireName() {
        return wireName;
    }
}
