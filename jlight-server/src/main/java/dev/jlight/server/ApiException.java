package dev.jlight.server;

/**
 * An error answered in OpenAI's shape, {@code {"error": {"message", "type", "param", "code"}}},
 * with its HTTP status. Messages are for the client: they never carry a stack trace.
 */
public final class ApiException extends RuntimeException {
    private final int status;
    private final String type;
    private final String param;
    private final String code;

    public ApiException(int status, String type, String message, String param, String code) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** 400: the request is malformed or a value is out of range; {@code param} names the field. */
    public static ApiException badRequest(String param, String message) {
        return new ApiException(400, "invalid_request_error", message, param, null);
    }

    public static ApiException unauthorized() {
        return new ApiException(401, "invalid_request_error",
                "Incorrect API key provided. Send it as 'Authorization: Bearer <key>'.", null, "invalid_api_key");
    }

    public static ApiException modelNotFound(String model) {
        return new ApiException(404, "invalid_request_error", "The model `" + model + "` does not exist.", "model",
                "model_not_found");
    }

    public static ApiException notFound(String method, String path) {
        return new ApiException(404, "invalid_request_error", "Invalid URL (" + method + " " + path + ")", null,
                null);
    }

    public static ApiException methodNotAllowed(String method, String path) {
        return new ApiException(405, "invalid_request_error", "Method " + method + " is not allowed for " + path,
                null, "method_not_allowed");
    }

    public static ApiException tooLarge(long limit) {
        return new ApiException(413, "invalid_request_error", "The request body is larger than the limit of "
                + limit + " bytes (--max-request-body-bytes).", null, "request_too_large");
    }

    public static ApiException overloaded(String why) {
        return new ApiException(503, "server_error", why, null, "overloaded");
    }

    public static ApiException internal(String message) {
        return new ApiException(500, "server_error", message, null, null);
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }
}
