package dev.jlight.core.model;

/** Told the bytes of each weight as it is made ready, to drive a progress bar. */
@FunctionalInterface
public interface LoadProgress {
    LoadProgress NONE = bytes -> { };

    void loaded(long bytes);
}
