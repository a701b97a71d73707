package dev.jlight.core.engine;

import dev.jlight.core.JLightException;

/**
 * A request refused at admission, before anything entered the batch: names the offending
 * parameter (OpenAI's {@code param} field; the server maps this to HTTP 400).
 */
public class InvalidRequestException extends JLightException {
    private final String param;

    public InvalidRequestException(String param, String message) {
        super(param + ": " + message);
        this.param = param;
    }

    /** The request field at fault, e.g. {@code "temperature"} or {@code "prompt"}. */
    public String param() {
        return param;
    }
}
