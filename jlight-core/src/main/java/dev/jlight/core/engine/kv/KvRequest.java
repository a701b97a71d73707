package dev.jlight.core.engine.kv;

/** What the KV cache manager needs to know about a sequence: its id and its token ids so far. */
public interface KvRequest {
    long seqId();

    /** Prompt plus generated tokens. */
    int numTokens();

    int tokenAt(int index);
}
