package dev.jlight.core.engine.kv;

import java.util.ArrayList;
import java.util.List;

/**
 * The free blocks in eviction order (vLLM's FreeKVCacheBlockQueue): a doubly linked list through
 * the blocks themselves, so taking the head, appending and removing any block (a prefix-cache hit
 * on a free cached block) are O(1). The head is the next block handed out, evicting whatever
 * prefix it cached; blocks freed later go to the tail, so cached blocks leave in LRU order.
 */
final class FreeBlockQueue {
    private final KvBlock head = new KvBlock(-1);
    private final KvBlock tail = new KvBlock(-1);
    private int size;

    FreeBlockQueue() {
        head.nextFree = tail;
        tail.prevFree = head;
    }

    int size() {
        return size;
    }

    void append(KvBlock b) {
        if (b.inFreeQueue) {
            throw new IllegalStateException("block " + b.id() + " is already free");
        }
        b.prevFree = tail.prevFree;
        b.nextFree = tail;
        tail.prevFree.nextFree = b;
        tail.prevFree = b;
        b.inFreeQueue = true;
        size++;
    }

    KvBlock popFront() {
        if (size == 0) {
            throw new IllegalStateException("no free KV blocks");
        }
        KvBlock b = head.nextFree;
        remove(b);
        return b;
    }

    void remove(KvBlock b) {
        if (!b.inFreeQueue) {
            throw new IllegalStateException("block " + b.id() + " is not free");
        }
        b.prevFree.nextFree = b.nextFree;
        b.nextFree.prevFree = b.prevFree;
        b.prevFree = null;
        b.nextFree = null;
        b.inFreeQueue = false;
        size--;
    }

    /** Block ids from head (next to evict) to tail. */
    List<Integer> ids() {
        List<Integer> out = new ArrayList<>(size);
        for (KvBlock b = head.nextFree; b != tail; b = b.nextFree) {
            out.add(b.id());
        }
        return out;
    }
}
