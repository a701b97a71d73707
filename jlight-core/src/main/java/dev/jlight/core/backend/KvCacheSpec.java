package dev.jlight.core.backend;

import dev.jlight.core.weights.DType;

/**
 * Shape of a paged KV cache: for each layer a K and a V pool of {@code numBlocks} blocks, each
 * block {@code blockSize} token slots of {@code numKvHeads × headDim} elements. A token's slot is
 * {@code block * blockSize + offsetInBlock}; block tables map a sequence's logical blocks to these
 * physical ones (vLLM's layout: [numBlocks, blockSize, numKvHeads, headDim]).
 */
public record KvCacheSpec(int numLayers, int numBlocks, int blockSize, int numKvHeads, int headDim, DType dtype) {
    public KvCacheSpec {
        if (numLayers <= 0 || numBlocks <= 0 || blockSize <= 0 || numKvHeads <= 0 || headDim <= 0) {
            throw new IllegalArgumentException("bad KV cache spec: " + numLayers + " layers, " + numBlocks
                    + " blocks of " + blockSize + ", " + numKvHeads + " kv heads of " + headDim);
        }
    }

    /** Bytes of K plus V for one token over all layers. */
    public static long bytesPerToken(int numLayers, int numKvHeads, int headDim, DType dtype) {
        return 2L * numLayers * numKvHeads * headDim * dtype.bytes();
    }

    public long bytesPerBlock() {
        return bytesPerToken(numLayers, numKvHeads, headDim, dtype) * blockSize;
    }

    public long totalBytes() {
        return bytesPerBlock() * numBlocks;
    }

    public long capacityTokens() {
        return (long) numBlocks * blockSize;
    }
}
