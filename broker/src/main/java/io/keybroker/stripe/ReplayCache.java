package io.keybroker.stripe;

import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The event ids verified recently, per webhook secret, each remembered until its signed timestamp plus the
 * tolerance (after that the timestamp check refuses a replay anyway). Bounded: at most {@code maxSize} ids, about
 * 200 bytes each (10,000 ids, the default, are about 2 MB). When it is full of ids that are all still inside
 * their window it refuses to verify (503) rather than forget one, so a flood can delay webhooks but never let a
 * replay through.
 */
final class ReplayCache {

    /** What {@link #remember} found. */
    enum Result { NEW, REPLAY, FULL }

    private final int maxSize;
    // Insertion order is close to expiry order: every entry lives timestamp + tolerance, and timestamps are
    // within the tolerance of now when they are added.
    private final LinkedHashMap<String, Instant> expiries = new LinkedHashMap<>();

    ReplayCache(int maxSize) {
        this.maxSize = maxSize;
    }

    /** Remembers {@code eventId} under {@code secret} until {@code expiry}, unless it is already remembered. */
    synchronized Result remember(String secret, String eventId, Instant expiry, Instant now) {
        String key = secret + '\n' + eventId;
        Instant known = expiries.get(key);
        if (known != null && now.isBefore(known)) {
            return Result.REPLAY;
        }
        Iterator<Map.Entry<String, Instant>> oldest = expiries.entrySet().iterator();
        while (oldest.hasNext()) {
            Map.Entry<String, Instant> entry = oldest.next();
            if (now.isBefore(entry.getValue()) && expiries.size() < maxSize) {
                break;
            }
            if (now.isBefore(entry.getValue())) {
                // Full, and even the oldest is still inside its window: refuse rather than forget it.
                return Result.FULL;
            }
            oldest.remove();
        }
        expiries.remove(key);
        expiries.put(key, expiry);
        return Result.NEW;
    }

    /** How long until the oldest remembered id expires, for a Retry-After when full. */
    synchronized Duration untilRoom(Instant now) {
        return expiries.isEmpty() ? Duration.ZERO
                : Duration.between(now, expiries.values().iterator().next()).plusSeconds(1);
    }

    synchronized int size() {
        return expiries.size();
    }
}
