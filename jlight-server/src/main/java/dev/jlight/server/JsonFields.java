package dev.jlight.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Typed access to a JSON request body: every getter checks the type and answers a 400 naming
 * the field, a JSON null reads as absent (OpenAI's optional fields), and the fields never read
 * are reported as unknown (logged and ignored, as vLLM does).
 */
final class JsonFields {
    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private final ObjectNode node;
    private final Set<String> read = new HashSet<>();

    JsonFields(ObjectNode node) {
        this.node = node;
    }

    /** Parses a body that must be one JSON object. */
    static JsonFields parse(byte[] body) {
        JsonNode n;
        try {
            n = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest(null, "We could not parse the JSON body of your request: "
                    + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiException.badRequest(null, "We could not read the body of your request: " + e.getMessage());
        }
        if (n == null || n.isMissingNode()) {
            throw ApiException.badRequest(null, "The request body is empty: expected a JSON object.");
        }
        if (!n.isObject()) {
            throw ApiException.badRequest(null, "The request body must be a JSON object, got " + kind(n) + ".");
        }
        return new JsonFields((ObjectNode) n);
    }

    ObjectNode node() {
        return node;
    }

    /** The raw value, or null when absent or JSON null; marks the field as known. */
    JsonNode get(String field) {
        read.add(field);
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v;
    }

    boolean has(String field) {
        return get(field) != null;
    }

    /** Marks fields as known without reading them (accepted and ignored). */
    void ignore(String... fields) {
        read.addAll(List.of(fields));
    }

    String string(String field) {
        JsonNode v = get(field);
        if (v == null) {
            return null;
        }
        if (!v.isTextual()) {
            throw typeError(field, "a string", v);
        }
        return v.textValue();
    }

    Double number(String field) {
        JsonNode v = get(field);
        if (v == null) {
            return null;
        }
        if (!v.isNumber()) {
            throw typeError(field, "a number", v);
        }
        double d = v.doubleValue();
        if (!Double.isFinite(d)) {
            throw ApiException.badRequest(field, field + " must be a finite number");
        }
        return d;
    }

    Integer integer(String field) {
        Long l = longInteger(field);
        if (l == null) {
            return null;
        }
        if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
            throw ApiException.badRequest(field, field + " is out of range: " + l);
        }
        return l.intValue();
    }

    Long longInteger(String field) {
        JsonNode v = get(field);
        if (v == null) {
            return null;
        }
        return asLong(field, v);
    }

    /** An integer, also written as a float with no fraction (pydantic's lax mode). */
    static long asLong(String field, JsonNode v) {
        if (v.isIntegralNumber()) {
            if (!v.canConvertToLong()) {
                throw ApiException.badRequest(field, field + " is out of range: " + v);
            }
            return v.longValue();
        }
        if (v.isFloatingPointNumber() && v.doubleValue() == Math.rint(v.doubleValue())
                && Math.abs(v.doubleValue()) < 9.0e15) {
            return (long) v.doubleValue();
        }
        throw typeError(field, "an integer", v);
    }

    Boolean bool(String field) {
        JsonNode v = get(field);
        if (v == null) {
            return null;
        }
        if (!v.isBoolean()) {
            throw typeError(field, "a boolean", v);
        }
        return v.booleanValue();
    }

    boolean bool(String field, boolean dflt) {
        Boolean b = bool(field);
        return b == null ? dflt : b;
    }

    ObjectNode object(String field) {
        JsonNode v = get(field);
        if (v == null) {
            return null;
        }
        if (!v.isObject()) {
            throw typeError(field, "an object", v);
        }
        return (ObjectNode) v;
    }

    ArrayNode array(String field) {
        JsonNode v = get(field);
        if (v == null) {
            return null;
        }
        if (!v.isArray()) {
            throw typeError(field, "an array", v);
        }
        return (ArrayNode) v;
    }

    /** Fields present in the body that no getter or {@link #ignore} asked for. */
    List<String> unknown() {
        List<String> out = new ArrayList<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!read.contains(f)) {
                out.add(f);
            }
        }
        return out;
    }

    static ApiException typeError(String field, String expected, JsonNode got) {
        return ApiException.badRequest(field, field + " must be " + expected + ", got " + kind(got));
    }

    static String kind(JsonNode n) {
        if (n == null || n.isNull()) {
            return "null";
        }
        if (n.isTextual()) {
            return "a string";
        }
        if (n.isBoolean()) {
            return "a boolean";
        }
        if (n.isIntegralNumber()) {
            return "an integer";
        }
        if (n.isNumber()) {
            return "a number";
        }
        if (n.isArray()) {
            return "an array";
        }
        return n.isObject() ? "an object" : n.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
    }
}
