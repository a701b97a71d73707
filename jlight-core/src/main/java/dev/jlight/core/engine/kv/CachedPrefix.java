package dev.jlight.core.engine.kv;

import java.util.List;

/** Leading full blocks of a sequence found in the prefix cache, with their chained hashes. */
public record CachedPrefix(List<KvBlock> blocks, List<BlockHash> hashes) {
    public static final CachedPrefix NONE = new CachedPrefix(List.of(), List.of());

    public CachedPrefix {
        blocks = List.copyOf(blocks);
        hashes = List.copyOf(hashes);
        if (blocks.size() != hashes.size()) {
            throw new IllegalArgumentException(blocks.size() + " cached blocks but " + hashes.size() + " hashes");
        }
    }

    public int numBlocks() {
        return blocks.size();
    }

    public boolean isEmpty() {
        return blocks.isEmpty();
    }
}
