package dev.jlight.core.engine;

import java.util.Objects;

/** A tokenized request: its id (unique among live requests), prompt token ids and sampling parameters. */
public record EngineRequest(String requestId, int[] promptTokenIds, SamplingParams params) {
    public EngineRequest {
        Objects.requireNonNull(requestId, "requestId");
        if (promptTokenIds == null) {
            throw new InvalidRequestException("prompt", "missing prompt token ids");
        }
        promptTokenIds = promptTokenIds.clone();
        params = params == null ? SamplingParams.defaults() : params;
    }
}
