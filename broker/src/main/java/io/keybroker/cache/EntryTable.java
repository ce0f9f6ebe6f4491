package io.keybroker.cache;

import io.keybroker.backend.BackendLocation;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * The bounded table of {@link Slot}s: at most max-size locations, the least recently used evicted first, and
 * watched locations pinned so that eviction never silently ends a watch.
 *
 * <p>The table's monitor is the cache's one lock. Its methods take it themselves, but a caller that reads and then
 * changes a slot holds {@code synchronized (table)} around the whole step, and never calls a backend, encrypts or
 * decrypts while holding it.
 */
final class EntryTable {

    private final int maxSize;
    /** The most locations all watches together may pin: half the cache, so reads always have room. */
    private final int maxPinned;
    /** Whether a read of a location is in flight; such a slot must not be evicted under it. */
    private final Predicate<BackendLocation> inFlight;
    private final Runnable onEviction;
    /** Access-ordered, so the eldest entry is the least recently used. */
    private final LinkedHashMap<BackendLocation, Slot> slots = new LinkedHashMap<>(16, 0.75f, true);
    /** The number of slots with pins. */
    private int pinned;

    EntryTable(int maxSize, Predicate<BackendLocation> inFlight, Runnable onEviction) {
        this.maxSize = maxSize;
        this.maxPinned = Math.max(1, maxSize / 2);
        this.inFlight = Objects.requireNonNull(inFlight, "inFlight must not be null");
        this.onEviction = Objects.requireNonNull(onEviction, "onEviction must not be null");
    }

    /** The slot of a location, if it has one; counts as a use in the LRU order. */
    synchronized @Nullable Slot get(BackendLocation location) {
        return slots.get(location);
    }

    /**
     * The slot for a location, created if absent; creating one may evict the least recently used. Null when the
     * table holds max-size slots and none can be dropped (watched, or busy with a read or poll): max-size is a
     * hard bound, so the caller then serves its answer without remembering it.
     */
    synchronized @Nullable Slot slotFor(BackendLocation location) {
        Slot slot = slots.get(location);
        if (slot == null) {
            evictToMakeRoom();
            if (slots.size() >= maxSize) {
                return null;
            }
            slot = new Slot();
            slots.put(location, slot);
        }
        return slot;
    }

    /**
     * Pins every location or none: a watch that would pin more than half the table is refused, and so is one that
     * finds no room because every other slot is busy, rather than hold a watch past max-size.
     *
     * @throws WatchCapacityException when the locations cannot all be pinned
     */
    synchronized void pin(Set<BackendLocation> locations, Instant now) {
        int fresh = 0;
        for (BackendLocation location : locations) {
            Slot slot = slots.get(location);
            if (slot == null || slot.pins == 0) {
                fresh++;
            }
        }
        if (pinned + fresh > maxPinned) {
            throw new WatchCapacityException(maxPinned);
        }
        List<BackendLocation> done = new ArrayList<>();
        for (BackendLocation location : locations) {
            Slot slot = slotFor(location);
            if (slot == null) {
                unpin(done);
                throw new WatchCapacityException(maxPinned);
            }
            if (slot.pins++ == 0) {
                pinned++;
            }
            done.add(location);
            if (slot.data == null && slot.nextPollAt == null) {
                // A watched location nobody has read yet is loaded by the next tick.
                slot.nextPollAt = now;
            }
        }
    }

    synchronized void unpin(Collection<BackendLocation> locations) {
        for (BackendLocation location : locations) {
            Slot slot = slots.get(location);
            if (slot != null && slot.pins > 0 && --slot.pins == 0) {
                pinned--;
            }
        }
    }

    /**
     * Every slot, eldest first, for the background walk; the caller holds {@code synchronized (table)} while it
     * iterates and may remove through the iterator. Iterating does not change the access order, so background
     * work never counts as a use.
     */
    Iterator<Map.Entry<BackendLocation, Slot>> walk() {
        return slots.entrySet().iterator();
    }

    synchronized int size() {
        return slots.size();
    }

    private void evictToMakeRoom() {
        Iterator<Map.Entry<BackendLocation, Slot>> it = slots.entrySet().iterator();
        while (slots.size() >= maxSize && it.hasNext()) {
            Map.Entry<BackendLocation, Slot> eldest = it.next();
            // Watched locations and reads in flight stay: dropping a watched one would silently end a watch.
            if (eldest.getValue().pins == 0 && !eldest.getValue().polling && !inFlight.test(eldest.getKey())) {
                it.remove();
                onEviction.run();
            }
        }
    }
}
