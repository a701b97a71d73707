package dev.jlight.core.engine.kv;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Hashes one full block chained to its parent: SHA-256 over (parent hash, the block's token
 * ids), truncated to 128 bits. A collision would need 2^64 blocks, and a cache hit also compares
 * the block's token ids ({@link BlockPool#lookup}), so a wrong hit is impossible in practice.
 * Not thread-safe: one per {@link KvCacheManager}, used by the engine thread.
 */
public final class BlockHasher {
    private final MessageDigest sha;
    private final byte[] buf;

    public BlockHasher(int blockSize) {
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from this JDK", e);
        }
        buf = new byte[16 + 4 * blockSize];
    }

    /** Hash of tokens {@code [from, from + blockSize)} of {@code seq} after {@code parent}. */
    public BlockHash hash(BlockHash parent, KvRequest seq, int from, int blockSize) {
        putLong(0, parent.hi());
        putLong(8, parent.lo());
        for (int i = 0; i < blockSize; i++) {
            putInt(16 + 4 * i, seq.tokenAt(from + i));
        }
        sha.update(buf, 0, 16 + 4 * blockSize);
        byte[] d = sha.digest();
        return new BlockHash(getLong(d, 0), getLong(d, 8));
    }

    private void putLong(int at, long v) {
        for (int i = 0; i < 8; i++) {
            buf[at + i] = (byte) (v >>> (56 - 8 * i));
        }
    }

    private void putInt(int at, int v) {
        for (int i = 0; i < 4; i++) {
            buf[at + i] = (byte) (v >>> (24 - 8 * i));
        }
    }

    private static long getLong(byte[] d, int at) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (d[at + i] & 0xffL);
        }
        return v;
    }
}
