package io.keybroker.cache;

import io.keybroker.rotation.RotationProperties;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.random.RandomGenerator;
import org.jspecify.annotations.Nullable;

/**
 * Every time the cache computes: how long an entry is fresh and usable, when it is refreshed ahead, when a location
 * is polled again, and how long it waits after a failure or an absence. Kept apart from the bookkeeping so the
 * rules can be read (and changed) in one place; it holds no state beyond the settings and the jitter source.
 */
final class CacheTiming {

    private static final Duration INITIAL_BACKOFF = Duration.ofSeconds(1);
    private static final Duration BACKOFF_CAP = Duration.ofSeconds(60);
    private static final double REFRESH_AHEAD = 0.8;

    private final RandomGenerator random;
    private final Duration ttl;
    private final Duration maxStale;
    private final Duration notFoundTtl;
    /** The first wait before a watched absent location is read again; doubles per read that finds nothing. */
    private final Duration notFoundBackoff;
    private final Duration notFoundMaxBackoff;
    private final Duration refreshAfter;
    private final Duration pollInterval;
    private final double jitter;
    private final Duration maxBackoff;
    private final Duration tickInterval;

    /** @param random the source of jitter */
    CacheTiming(CacheProperties cache, RotationProperties rotation, RandomGenerator random) {
        this.random = Objects.requireNonNull(random, "random must not be null");
        this.ttl = cache.ttl();
        this.maxStale = cache.maxStale();
        this.notFoundTtl = cache.notFoundTtl();
        this.refreshAfter = Duration.ofMillis((long) (ttl.toMillis() * REFRESH_AHEAD));
        this.pollInterval = rotation.pollInterval();
        this.jitter = rotation.jitter();
        this.maxBackoff = max(INITIAL_BACKOFF, min(pollInterval, BACKOFF_CAP));
        this.notFoundMaxBackoff = max(cache.notFoundMaxBackoff(), Duration.ofMillis(1));
        this.notFoundBackoff = min(max(max(notFoundTtl, pollInterval), Duration.ofMillis(1)), notFoundMaxBackoff);
        // Often enough to keep the jittered poll times meaningful, rarely enough that walking the table is cheap.
        this.tickInterval = max(Duration.ofMillis(100), min(pollInterval.dividedBy(10), Duration.ofSeconds(1)));
    }

    Duration ttl() {
        return ttl;
    }

    Duration maxStale() {
        return maxStale;
    }

    Duration pollInterval() {
        return pollInterval;
    }

    double jitter() {
        return jitter;
    }

    Duration tickInterval() {
        return tickInterval;
    }

    Instant freshUntil(CachedSecret secret) {
        return secret.fetchedAt().plus(ttl);
    }

    Instant usableUntil(CachedSecret secret) {
        return secret.fetchedAt().plus(ttl).plus(maxStale);
    }

    /** When an entry that is being read is re-read ahead of its ttl, so readers never wait for the backend. */
    Instant refreshAt(CachedSecret secret) {
        return secret.fetchedAt().plus(refreshAfter);
    }

    /** How long a read that found nothing is answered from memory. */
    Instant notFoundUntil(Instant now) {
        return now.plus(notFoundTtl);
    }

    /** The next marker poll after a good read or an unchanged marker, jittered so a fleet does not poll in step. */
    Instant nextPoll(Instant now) {
        return now.plus(jittered(pollInterval));
    }

    /** The wait after the n-th read in a row that found nothing: doubling from the first wait, capped. */
    Duration notFoundBackoff(int absences) {
        long millis = notFoundBackoff.toMillis() << Math.min(absences - 1, 20);
        return Duration.ofMillis(Math.min(millis, notFoundMaxBackoff.toMillis()));
    }

    /**
     * The wait after the n-th failure in a row: exponential with "equal jitter" (half the step fixed, half
     * random), from 1 s up to the poll interval, never more than 60 s.
     */
    Duration failureBackoff(int failures) {
        long step = INITIAL_BACKOFF.toMillis() << Math.min(failures - 1, 16);
        step = Math.min(step, maxBackoff.toMillis());
        return Duration.ofMillis(step / 2 + (long) (random.nextDouble() * (step / 2.0)));
    }

    static boolean due(@Nullable Instant at, Instant now) {
        return at == null || !now.isBefore(at);
    }

    /** {@code base} moved randomly by up to {@code jitter} of itself either way. */
    private Duration jittered(Duration base) {
        double factor = 1 + jitter * (2 * random.nextDouble() - 1);
        return Duration.ofMillis(Math.max(1, (long) (base.toMillis() * factor)));
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }
}
