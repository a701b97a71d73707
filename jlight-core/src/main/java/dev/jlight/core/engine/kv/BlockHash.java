package dev.jlight.core.engine.kv;

/**
 * The 128-bit identity of a full KV block in the prefix cache: a hash chained over the whole
 * prefix (parent block's hash + this block's token ids), so equal hashes mean equal prefixes.
 * See {@link BlockHasher}.
 */
public record BlockHash(long hi, long lo) {
    /** The parent of a sequence's first block. */
    public static final BlockHash ROOT = new BlockHash(0L, 0L);

    @Override
    public String toString() {
        return String.format("%016x%016x", hi, lo);
    }
}
