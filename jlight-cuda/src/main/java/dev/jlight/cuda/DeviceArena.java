package dev.jlight.cuda;

import dev.jlight.core.JLightException;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The one manager of a backend's device memory: a single range (one cuMemAlloc made when the
 * backend opens) from which weights, KV blocks and per-step workspace are sub-allocated,
 * 256-byte aligned, best fit over an address-ordered free list with coalescing. Nothing in the
 * step loop calls cuMemAlloc. Pure bookkeeping (no CUDA calls), so it is tested without a GPU.
 *
 * <p>Thread-safe: blocks of tensors that became unreachable are freed from a Cleaner thread.
 */
public final class DeviceArena {
    public static final long ALIGN = 256;

    /** What a block holds, for the accounting and for the message when it does not fit. */
    public enum Purpose {
        WEIGHTS("weights"), KV_CACHE("KV cache"), WORKSPACE("workspace");

        private final String label;

        Purpose(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /** A sub-allocation: device address, size (rounded up to the alignment), purpose. */
    public record Block(long address, long size, Purpose purpose) {
    }

    /** Thrown when a request does not fit; a JLightException whose message says by how much. */
    public static final class OutOfArenaException extends JLightException {
        OutOfArenaException(String message) {
            super(message);
        }
    }

    private final long base;
    private final long capacity;
    private final String sizing;
    private final TreeMap<Long, Long> free = new TreeMap<>(); // address -> size
    private final long[] usedBy = new long[Purpose.values().length];
    private long used;
    private long peak;
    private int blocks;

    /**
     * @param base     device address of the range (256-byte aligned, as cuMemAlloc returns)
     * @param capacity bytes in the range
     * @param sizing   how the size was chosen, for messages ("gpu-memory-utilization 0.90 of 79.1 GiB")
     */
    public DeviceArena(long base, long capacity, String sizing) {
        if (base % ALIGN != 0) {
            throw new IllegalArgumentException("arena base " + Long.toHexString(base) + " is not " + ALIGN + "-aligned");
        }
        this.base = base;
        this.capacity = capacity - capacity % ALIGN;
        this.sizing = sizing;
        if (this.capacity > 0) {
            free.put(base, this.capacity);
        }
    }

    public static long alignUp(long bytes) {
        return (Math.max(bytes, 1) + ALIGN - 1) / ALIGN * ALIGN;
    }

    /**
     * Allocates {@code bytes} for {@code purpose}; {@code what} names the request in the message
     * if it does not fit (a weight's name, "KV cache of 2048 blocks", ...).
     */
    public synchronized Block allocate(long bytes, Purpose purpose, String what) {
        if (bytes < 0) {
            throw new IllegalArgumentException("negative allocation " + bytes + " for " + what);
        }
        long need = alignUp(bytes);
        Map.Entry<Long, Long> best = null;
        for (Map.Entry<Long, Long> e : free.entrySet()) {
            if (e.getValue() >= need && (best == null || e.getValue() < best.getValue())) {
                best = e;
                if (e.getValue() == need) {
                    break;
                }
            }
        }
        if (best == null) {
            throw new OutOfArenaException(shortage(need, purpose, what));
        }
        long addr = best.getKey();
        long rest = best.getValue() - need;
        free.remove(addr);
        if (rest > 0) {
            free.put(addr + need, rest);
        }
        used += need;
        usedBy[purpose.ordinal()] += need;
        peak = Math.max(peak, used);
        blocks++;
        return new Block(addr, need, purpose);
    }

    /** Returns a block; neighbours in the free list are merged. */
    public synchronized void free(Block b) {
        long addr = b.address();
        long size = b.size();
        if (addr < base || addr + size > base + capacity) {
            throw new IllegalArgumentException("block " + Long.toHexString(addr) + " is not in this arena");
        }
        Map.Entry<Long, Long> below = free.floorEntry(addr);
        if (below != null && below.getKey() + below.getValue() > addr) {
            throw new IllegalStateException("double free of block " + Long.toHexString(addr) + " (" + size + " bytes)");
        }
        Long aboveSize = free.get(addr + size);
        if (below != null && below.getKey() + below.getValue() == addr) {
            addr = below.getKey();
            size += below.getValue();
        }
        if (aboveSize != null) {
            free.remove(b.address() + b.size());
            size += aboveSize;
        }
        free.put(addr, size);
        used -= b.size();
        usedBy[b.purpose().ordinal()] -= b.size();
        blocks--;
    }

    public long capacity() {
        return capacity;
    }

    public long base() {
        return base;
    }

    public synchronized long used() {
        return used;
    }

    public synchronized long used(Purpose p) {
        return usedBy[p.ordinal()];
    }

    /** The most bytes in use at once since the arena was made. */
    public synchronized long peak() {
        return peak;
    }

    public synchronized long freeBytes() {
        return capacity - used;
    }

    /** The largest single allocation that would succeed now. */
    public synchronized long largestFree() {
        long m = 0;
        for (long s : free.values()) {
            m = Math.max(m, s);
        }
        return m;
    }

    public synchronized int liveBlocks() {
        return blocks;
    }

    public String sizing() {
        return sizing;
    }

    /** One line for logs: capacity, use by purpose, peak. */
    public synchronized String summary() {
        return String.format(Locale.ROOT, "arena %s (%s): weights %s, KV cache %s, workspace %s, peak %s",
                gib(capacity), sizing, gib(usedBy[0]), gib(usedBy[1]), gib(usedBy[2]), gib(peak));
    }

    private String shortage(long need, Purpose purpose, String what) {
        long freeNow = capacity - used;
        String frag = freeNow >= need ? ", largest free block " + gib(largestFree()) : "";
        return switch (purpose) {
            case WEIGHTS -> String.format(Locale.ROOT,
                    "weights need at least %s (%s loaded + %s for %s), arena has %s (%s)",
                    gib(usedBy[0] + need), gib(usedBy[0]), gib(need), what, gib(capacity - usedBy[1] - usedBy[2]),
                    sizing) + frag;
            case KV_CACHE -> String.format(Locale.ROOT,
                    "KV cache needs %s (%s), arena has %s free after %s of weights (%s)%s",
                    gib(need), what, gib(freeNow), gib(usedBy[0]), sizing, frag);
            case WORKSPACE -> String.format(Locale.ROOT,
                    "workspace needs %s more for %s, arena has %s free of %s (weights %s, KV cache %s; %s)%s",
                    gib(need), what, gib(freeNow), gib(capacity), gib(usedBy[0]), gib(usedBy[1]), sizing, frag);
        };
    }

    static String gib(long bytes) {
        if (bytes < (1L << 30) && bytes > 0) {
            return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
        }
        return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
    }
}
