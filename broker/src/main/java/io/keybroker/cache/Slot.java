package io.keybroker.cache;

import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * The mutable bookkeeping for one location in the {@link EntryTable}. Every field is guarded by the table's
 * monitor: the values a request sees are the immutable {@link CachedSecret}s, never a slot.
 */
final class Slot {
    @Nullable CachedSecret data;
    @Nullable Instant notFoundUntil;
    @Nullable Instant lastHitAt;
    @Nullable Instant nextPollAt;
    @Nullable Instant retryAt;
    @Nullable RuntimeException lastError;
    int failures;
    /** Background reads in a row that found nothing. */
    int absences;
    /** The watches on this location; a pinned slot is never evicted. */
    int pins;
    /** A marker poll or background read is running or queued; such a slot is neither evicted nor queued again. */
    boolean polling;

    /**
     * Whether the tick re-reads this entry ahead of its ttl: it was read since it was fetched, or is watched. An
     * entry nobody reads is left to expire, so idle secrets cost no backend traffic.
     */
    boolean refreshWasDue() {
        CachedSecret current = data;
        return pins > 0 || (current != null && lastHitAt != null && lastHitAt.isAfter(current.fetchedAt()));
    }

    /** Clears the failure state; true when there was one. */
    boolean recover() {
        boolean had = lastError != null;
        failures = 0;
        retryAt = null;
        lastError = null;
        return had;
    }
}
