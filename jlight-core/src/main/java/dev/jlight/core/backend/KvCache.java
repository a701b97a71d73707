package dev.jlight.core.backend;

/** The paged K/V pools of all layers, allocated by a backend from a {@link KvCacheSpec}. */
public interface KvCache extends AutoCloseable {
    KvCacheSpec spec();

    @Override
    void close();
}
