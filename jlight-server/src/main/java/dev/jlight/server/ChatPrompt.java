package dev.jlight.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jlight.core.template.TemplateException;
import dev.jlight.core.template.TokenizerChatTemplate;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Renders a chat request's messages through the model's chat template as vLLM does: text
 * content parts joined by newlines, {@code add_generation_prompt}, {@code continue_final_message}
 * (the prompt ends inside the last assistant message), {@code chat_template_kwargs} and
 * {@code documents}; template errors are the request's fault (400).
 */
final class ChatPrompt {
    private ChatPrompt() {
    }

    /** Reads the chat fields from the body and renders the prompt text. */
    static String render(Serving s, JsonFields f) {
        ArrayNode messages = f.array("messages");
        if (messages == null) {
            throw ApiException.badRequest("messages", "messages is required");
        }
        boolean addGenerationPrompt = f.bool("add_generation_prompt", true);
        boolean continueFinal = f.bool("continue_final_message", false);
        ObjectNode kwargs = f.object("chat_template_kwargs");
        JsonNode documents = f.get("documents");
        if (documents != null && !documents.isArray()) {
            throw JsonFields.typeError("documents", "an array", documents);
        }
        if (f.has("chat_template")) {
            throw ApiException.badRequest("chat_template", "per-request chat templates are not accepted; "
                    + "start the server with --chat-template instead");
        }
        ArrayNode tools = f.array("tools");
        if (tools != null && !tools.isEmpty()) {
            throw ApiException.badRequest("tools", "tool calling is not supported yet");
        }
        f.ignore("tool_choice", "parallel_tool_calls");
        return render(s.runtime.chatTemplate(), messages, documents, addGenerationPrompt, continueFinal, kwargs);
    }

    static String render(TokenizerChatTemplate template, ArrayNode messages, JsonNode documents,
                         boolean addGenerationPrompt, boolean continueFinal, ObjectNode kwargs) {
        if (template == null) {
            throw ApiException.badRequest("messages", "This model has no chat template: start the server with "
                    + "--chat-template, or use /v1/completions.");
        }
        if (messages.isEmpty()) {
            throw ApiException.badRequest("messages", "messages must not be empty");
        }
        if (addGenerationPrompt && continueFinal) {
            throw ApiException.badRequest("continue_final_message", "continue_final_message and "
                    + "add_generation_prompt cannot both be true.");
        }
        ArrayNode normalized = JsonNodeFactory.instance.arrayNode();
        String lastContent = null;
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String where = "messages[" + i + "]";
            if (!m.isObject()) {
                throw JsonFields.typeError(where, "an object", m);
            }
            JsonNode role = m.get("role");
            if (role == null || !role.isTextual()) {
                throw JsonFields.typeError(where + ".role", "a string", role);
            }
            ObjectNode copy = ((ObjectNode) m).deepCopy();
            JsonNode content = m.get("content");
            if (content != null && content.isArray()) {
                copy.put("content", joinParts(where, content));
            } else if (content != null && !content.isNull() && !content.isTextual()) {
                throw JsonFields.typeError(where + ".content", "a string or an array of content parts", content);
            }
            lastContent = copy.path("content").isTextual() ? copy.get("content").textValue() : null;
            normalized.add(copy);
        }
        Map<String, Object> extra = new LinkedHashMap<>();
        if (kwargs != null) {
            for (Map.Entry<String, JsonNode> e : kwargs.properties()) {
                extra.put(e.getKey(), e.getValue());
            }
        }
        String rendered;
        try {
            rendered = template.apply(normalized, null, documents, addGenerationPrompt, extra);
        } catch (TemplateException e) {
            throw ApiException.badRequest("messages", e.raisedByTemplate() ? e.getMessage()
                    : "the chat template failed on these messages: " + e.getMessage());
        }
        if (continueFinal) {
            rendered = cutAfterFinal(rendered, lastContent);
        }
        return rendered;
    }

    private static String joinParts(String where, JsonNode parts) {
        StringBuilder text = new StringBuilder();
        for (int j = 0; j < parts.size(); j++) {
            JsonNode p = parts.get(j);
            String at = where + ".content[" + j + "]";
            if (!p.isObject()) {
                throw JsonFields.typeError(at, "an object", p);
            }
            String type = p.path("type").asText("");
            if (!type.equals("text")) {
                throw ApiException.badRequest(at + ".type", "only text content parts are supported, got type '"
                        + type + "'");
            }
            JsonNode t = p.get("text");
            if (t == null || !t.isTextual()) {
                throw JsonFields.typeError(at + ".text", "a string", t);
            }
            if (!text.isEmpty()) {
                text.append('\n');
            }
            text.append(t.textValue());
        }
        return text.toString();
    }

    /** transformers' continue_final_message: the prompt ends right after the final message's content. */
    private static String cutAfterFinal(String rendered, String finalContent) {
        if (finalContent == null) {
            throw ApiException.badRequest("continue_final_message", "continue_final_message needs a final message "
                    + "with text content");
        }
        int at = rendered.lastIndexOf(finalContent);
        if (at >= 0) {
            return rendered.substring(0, at + finalContent.length());
        }
        String stripped = finalContent.strip();
        at = rendered.lastIndexOf(stripped);
        if (at < 0) {
            throw ApiException.badRequest("continue_final_message", "the final message's content does not appear "
                    + "in the rendered chat template");
        }
        return rendered.substring(0, at + stripped.length());
    }
}
