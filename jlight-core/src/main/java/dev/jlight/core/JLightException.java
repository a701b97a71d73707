package dev.jlight.core;

/**
 * The one exception family of JLight. Messages name the file, field or parameter that is wrong,
 * because they are shown to users as they are (the CLI prints only the message unless --debug).
 */
public class JLightException extends RuntimeException {
    public JLightException(String message) {
        super(message);
    }

    public JLightException(String message, Throwable cause) {
        super(message, cause);
    }

    /** A problem with a file of a model folder: names the file and the field or tensor. */
    public static JLightException inFile(java.nio.file.Path file, String what) {
        return new JLightException(file + ": " + what);
    }
}
