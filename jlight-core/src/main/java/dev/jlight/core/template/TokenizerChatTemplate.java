package dev.jlight.core.template;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The chat template of a {@code tokenizer_config.json} together with its special tokens, applied the
 * way transformers' {@code apply_chat_template} does: the template sees {@code messages},
 * {@code tools}, {@code documents} (None when not given), {@code add_generation_prompt}, the set
 * special tokens ({@code bos_token}, {@code eos_token}, ... as strings, and
 * {@code additional_special_tokens}) and any extra keyword arguments.
 */
public final class TokenizerChatTemplate {
    private static final String[] TOKEN_KEYS = {
        "bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"
    };

    private final ChatTemplate template;
    private final Map<String, Object> specialTokens;

    public TokenizerChatTemplate(ChatTemplate template, Map<String, ?> specialTokens) {
        this.template = template;
        Map<String, Object> copy = new LinkedHashMap<>();
        specialTokens.forEach((k, v) -> copy.put(k, Json.normalize(v, 0)));
        this.specialTokens = Collections.unmodifiableMap(copy);
    }

    /** Reads {@code tokenizer_config.json}; see {@link #fromTokenizerConfig(JsonNode, String)}. */
    public static TokenizerChatTemplate fromTokenizerConfig(Path file) {
        JsonNode config;
        try {
            config = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new TemplateException("IOError", file + ": cannot read: " + e.getMessage());
        }
        try {
            return fromTokenizerConfig(config, null);
        } catch (TemplateException e) {
            throw new TemplateException(e.kind(), file + ": " + e.getMessage(), e.line(), e.column(), e);
        }
    }

    /**
     * The chat template of a model folder: {@code chat_template.jinja} when present (newer
     * transformers save it there, and it wins over the config), else the {@code chat_template} of
     * {@code tokenizer_config.json}; special tokens from {@code tokenizer_config.json}.
     */
    public static TokenizerChatTemplate fromModelDir(Path dir) {
        Path config = dir.resolve("tokenizer_config.json");
        Path jinja = dir.resolve("chat_template.jinja");
        if (!java.nio.file.Files.exists(jinja)) {
            return fromTokenizerConfig(config);
        }
        String source;
        try {
            source = java.nio.file.Files.readString(jinja);
        } catch (IOException e) {
            throw new TemplateException("IOError", jinja + ": cannot read: " + e.getMessage());
        }
        Map<String, Object> tokens = Map.of();
        if (java.nio.file.Files.exists(config)) {
            try {
                tokens = specialTokens(new ObjectMapper().readTree(config.toFile()));
            } catch (IOException e) {
                throw new TemplateException("IOError", config + ": cannot read: " + e.getMessage());
            }
        }
        try {
            return new TokenizerChatTemplate(ChatTemplate.compile(source), tokens);
        } catch (TemplateException e) {
            throw new TemplateException(e.kind(), jinja + ": " + e.getMessage(), e.line(), e.column(), e);
        }
    }

    /**
     * The template named {@code name} (null: "default", else the first of a list; a plain string
     * template is used as is) and the special tokens of a tokenizer config.
     */
    public static TokenizerChatTemplate fromTokenizerConfig(JsonNode config, String name) {
        String source = selectTemplate(config.get("chat_template"), name);
        if (source == null) {
            throw new TemplateException("ValueError", "tokenizer_config.json has no chat_template"
                    + (name == null ? "" : " named " + Py.repr(name)));
        }
        return new TokenizerChatTemplate(ChatTemplate.compile(source), specialTokens(config));
    }

    /** {@code chat_template} as a string, or from a list of {@code {name, template}}. */
    public static String selectTemplate(JsonNode chatTemplate, String name) {
        if (chatTemplate == null || chatTemplate.isNull()) {
            return null;
        }
        if (chatTemplate.isTextual()) {
            return name == null || name.equals("default") ? chatTemplate.textValue() : null;
        }
        if (chatTemplate.isArray()) {
            String wanted = name == null ? "default" : name;
            for (JsonNode t : chatTemplate) {
                if (wanted.equals(t.path("name").asText(null))) {
                    return t.path("template").asText(null);
                }
            }
            if (name == null && !chatTemplate.isEmpty()) {
                return chatTemplate.get(0).path("template").asText(null);
            }
        }
        return null;
    }

    /** The special tokens transformers passes: the set ones, as strings ({@code {"content": ...}} unwrapped). */
    public static Map<String, Object> specialTokens(JsonNode config) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (String key : TOKEN_KEYS) {
            String v = tokenString(config.get(key));
            if (v != null) {
                out.put(key, v);
            }
        }
        JsonNode extra = config.get("additional_special_tokens");
        if (extra != null && extra.isArray() && !extra.isEmpty()) {
            List<Object> list = new ArrayList<>();
            for (JsonNode t : extra) {
                String v = tokenString(t);
                if (v != null) {
                    list.add(v);
                }
            }
            out.put("additional_special_tokens", list);
        }
        return out;
    }

    private static String tokenString(JsonNode v) {
        if (v == null || v.isNull()) {
            return null;
        }
        if (v.isTextual()) {
            return v.textValue();
        }
        if (v.isObject() && v.path("content").isTextual()) {
            return v.path("content").textValue();
        }
        return null;
    }

    public ChatTemplate template() {
        return template;
    }

    public Map<String, Object> specialTokens() {
        return specialTokens;
    }

    /** The variables transformers hands the template. tools/documents may be null. */
    public Map<String, Object> context(Object messages, Object tools, Object documents, boolean addGenerationPrompt,
                                       Map<String, ?> extraKwargs) {
        Map<String, Object> ctx = new HashMap<>(specialTokens);
        if (extraKwargs != null) {
            ctx.putAll(extraKwargs);
        }
        ctx.put("messages", messages);
        ctx.put("tools", tools);
        ctx.put("documents", documents);
        ctx.put("add_generation_prompt", addGenerationPrompt);
        return ctx;
    }

    /** Renders a conversation; messages/tools/documents may be JsonNodes or plain Java values. */
    public String apply(Object messages, Object tools, Object documents, boolean addGenerationPrompt,
                        Map<String, ?> extraKwargs) {
        return template.render(context(messages, tools, documents, addGenerationPrompt, extraKwargs));
    }
}
