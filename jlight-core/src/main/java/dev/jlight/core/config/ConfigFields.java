package dev.jlight.core.config;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jlight.core.JLightException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Typed reads of config.json fields with errors naming the file and field; shared by
 * {@link ModelConfig} and the architecture-specific settings ({@link MoeSpec}, {@link MiniCpmScaling}).
 */
record ConfigFields(Path file, JsonNode root) {

    static ConfigFields of(ModelConfig config) {
        return new ConfigFields(config.file(), config.raw());
    }

    boolean has(String name) {
        return root != null && root.hasNonNull(name);
    }

    /** A positive number (integer or not), or the default when absent. */
    double positiveDouble(String name, double dflt) {
        double v = optDouble(name, dflt);
        if (!(v > 0) || Double.isInfinite(v)) {
            throw JLightException.inFile(file, "field '" + name + "' must be a positive number, got " + root.get(name));
        }
        return v;
    }

    int positiveInt(String name) {
        JsonNode v = root.get(name);
        if (v == null || v.isNull()) {
            throw JLightException.inFile(file, "missing field '" + name + "'");
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() <= 0) {
            throw JLightException.inFile(file, "field '" + name + "' must be a positive integer, got " + v);
        }
        return v.asInt();
    }

    int optInt(String name, int dflt) {
        JsonNode v = root.get(name);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isIntegralNumber()) {
            throw JLightException.inFile(file, "field '" + name + "' must be an integer, got " + v);
        }
        return v.asInt();
    }

    double optDouble(String name, double dflt) {
        JsonNode v = root.get(name);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isNumber()) {
            throw JLightException.inFile(file, "field '" + name + "' must be a number, got " + v);
        }
        return v.asDouble();
    }

    boolean optBool(String name, boolean dflt) {
        JsonNode v = root.get(name);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw JLightException.inFile(file, "field '" + name + "' must be true or false, got " + v);
        }
        return v.asBoolean();
    }

    String string(String name, String dflt) {
        JsonNode v = root.get(name);
        return v == null || v.isNull() ? dflt : v.asText();
    }

    List<String> stringList(String name) {
        List<String> out = new ArrayList<>();
        JsonNode v = root.get(name);
        if (v != null && v.isArray()) {
            v.forEach(x -> out.add(x.asText()));
        }
        return List.copyOf(out);
    }

    /** An id or a list of ids (eos_token_id is either). */
    List<Integer> intList(String name) {
        List<Integer> out = new ArrayList<>();
        JsonNode v = root.get(name);
        if (v == null || v.isNull()) {
            return List.of();
        }
        if (v.isArray()) {
            v.forEach(x -> out.add(x.asInt()));
        } else if (v.isIntegralNumber()) {
            out.add(v.asInt());
        } else {
            throw JLightException.inFile(file, "field '" + name + "' must be an integer or a list of integers");
        }
        return List.copyOf(out);
    }
}
