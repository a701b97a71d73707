package dev.jlight.core.tokenizer;

import java.util.Map;
import java.util.Set;

/**
 * The special tokens of a model folder and its chat template, as the engine needs them.
 *
 * <p>Ids are -1 where the model has no such token. Sources, first found wins:
 *
 * <ul>
 *   <li>{@code bosId}: tokenizer_config.json {@code bos_token}, then generation_config.json {@code
 *       bos_token_id}, then config.json {@code bos_token_id}.
 *   <li>{@code eosId}: tokenizer_config.json {@code eos_token} (what transformers calls {@code
 *       tokenizer.eos_token_id}), else the first of {@code eosIds}.
 *   <li>{@code eosIds}: the tokenizer's eos, then every {@code eos_token_id} (int or list) of
 *       generation_config.json, or of config.json when there is no generation_config.json. Generation
 *       stops on any of them, as vLLM does.
 *   <li>{@code padId}: tokenizer_config.json {@code pad_token}, then generation_config.json, then
 *       config.json {@code pad_token_id}.
 * </ul>
 *
 * @param bosToken the bos token's text, or null
 * @param bosId the bos token's id, or -1
 * @param eosToken the tokenizer's eos token text, or null
 * @param eosId the primary eos id, or -1
 * @param eosIds every id that ends generation (insertion-ordered, unmodifiable, may be empty)
 * @param padToken the pad token's text, or null
 * @param padId the pad id, or -1
 * @param unkToken the unk token's text, or null
 * @param unkId the unk id, or -1
 * @param addBosToken whether {@code encode(text, true)} prepends the bos token (the effective
 *     behaviour; see {@link Tokenizer})
 * @param addEosToken whether {@code encode(text, true)} appends the eos token
 * @param chatTemplate the raw default chat template (Jinja source), or null if the folder has none
 * @param chatTemplates every named chat template (a single unnamed one is named "default"),
 *     unmodifiable
 */
public record SpecialTokens(
        String bosToken,
        int bosId,
        String eosToken,
        int eosId,
        Set<Integer> eosIds,
        String padToken,
        int padId,
        String unkToken,
        int unkId,
        boolean addBosToken,
        boolean addEosToken,
        String chatTemplate,
        Map<String, String> chatTemplates) {

    public SpecialTokens {
        eosIds = eosIds == null
                ? Set.of()
                : java.util.Collections.unmodifiableSet(new java.util.LinkedHashSet<>(eosIds));
        chatTemplates = chatTemplates == null
                ? Map.of()
                : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(chatTemplates));
    }

    /** Whether {@code id} ends generation. */
    public boolean isEos(int id) {
        return eosIds.contains(id);
    }

    /** Whether the model has a bos token. */
    public boolean hasBos() {
        return bosId >= 0;
    }

    /**
     * The chat template of the given name (for example "tool_use"), falling back to {@link
     * #chatTemplate()} when there is no template of that name.
     */
    public String chatTemplate(String name) {
        String t = name == null ? null : chatTemplates.get(name);
        return t != null ? t : chatTemplate;
    }
}
