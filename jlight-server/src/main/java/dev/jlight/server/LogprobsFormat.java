package dev.jlight.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jlight.core.engine.Logprob;
import dev.jlight.core.engine.TokenLogprobs;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** OpenAI's two logprobs shapes, built from the engine's per-token {@link TokenLogprobs}. */
final class LogprobsFormat {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private LogprobsFormat() {
    }

    /** JSON has no infinities: vLLM's stand-in for a logprob of -inf. */
    static double finite(float lp) {
        return Float.isFinite(lp) ? lp : -9999.0;
    }

    /** Chat: {@code {"content": [{token, logprob, bytes, top_logprobs: [...]}, ...], "refusal": null}}. */
    static ObjectNode chat(List<TokenLogprobs> lps, int topK, TokenText text, boolean asIds) {
        ObjectNode out = F.objectNode();
        ArrayNode content = out.putArray("content");
        for (TokenLogprobs t : lps) {
            ObjectNode e = entry(text.of(t.tokenId(), asIds), t.logprob());
            ArrayNode top = e.putArray("top_logprobs");
            for (int i = 0; i < Math.min(topK, t.top().size()); i++) {
                Logprob alt = t.top().get(i);
                top.add(entry(text.of(alt.tokenId(), asIds), alt.logprob()));
            }
            content.add(e);
        }
        out.putNull("refusal");
        return out;
    }

    private static ObjectNode entry(String token, float logprob) {
        ObjectNode e = F.objectNode();
        e.put("token", token);
        e.put("logprob", finite(logprob));
        ArrayNode bytes = e.putArray("bytes");
        for (byte b : token.getBytes(StandardCharsets.UTF_8)) {
            bytes.add(b & 0xff);
        }
        return e;
    }

    /**
     * Completions (legacy): parallel lists tokens, token_logprobs, top_logprobs (a token-to-logprob
     * object with the k most likely and the chosen token, as vLLM) and text_offset.
     */
    static final class Legacy {
        private final int topK;
        private final TokenText text;
        private final boolean asIds;
        private int offset;

        /** {@code startOffset}: characters before the first token (the echoed prompt). */
        Legacy(int topK, TokenText text, boolean asIds, int startOffset) {
            this.topK = topK;
            this.text = text;
            this.asIds = asIds;
            this.offset = startOffset;
        }

        /** The object for these tokens; offsets continue from the previous call's. */
        ObjectNode next(List<TokenLogprobs> lps) {
            ObjectNode out = F.objectNode();
            ArrayNode tokens = out.putArray("tokens");
            ArrayNode tokenLogprobs = out.putArray("token_logprobs");
            ArrayNode top = out.putArray("top_logprobs");
            ArrayNode offsets = out.putArray("text_offset");
            for (TokenLogprobs t : lps) {
                String tok = text.of(t.tokenId(), asIds);
                tokens.add(tok);
                tokenLogprobs.add(finite(t.logprob()));
                ObjectNode alts = F.objectNode();
                for (int i = 0; i < Math.min(topK, t.top().size()); i++) {
                    Logprob alt = t.top().get(i);
                    alts.put(text.of(alt.tokenId(), asIds), finite(alt.logprob()));
                }
                if (!alts.has(tok)) {
                    alts.put(tok, finite(t.logprob()));
                }
                top.add(alts);
                offsets.add(offset);
                offset += tok.codePointCount(0, tok.length());
            }
            return out;
        }
    }
}
