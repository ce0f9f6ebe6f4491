package io.keybroker.cache;

import io.keybroker.backend.BackendLocation;
import io.keybroker.backend.BackendSecret;
import io.keybroker.backend.BackendUnavailableException;
import io.keybroker.backend.SecretBackend;
import io.keybroker.backend.SecretBackends;
import io.keybroker.cache.LoadOutcome.Absent;
import io.keybroker.cache.LoadOutcome.Failed;
import io.keybroker.cache.LoadOutcome.Loaded;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;

/**
 * Reads a location from its backend and writes what it found into the {@link EntryTable}: the value encrypted and
 * its plaintext wiped, an absence with its back-off, or a failure with its back-off. It also notices rotations (a
 * new current version) and emits them. The {@link SingleFlightLoader} makes sure one such read runs per location.
 */
final class BackendReader {

    private static final Logger log = LoggerFactory.getLogger(BackendReader.class);

    private final SecretBackends backends;
    private final SecretCipher cipher;
    private final EntryTable table;
    private final CacheTiming timing;
    private final CacheMetrics metrics;
    private final Clock clock;
    /** Runs the time limit of each call. */
    private final Scheduler scheduler;
    private final Sinks.Many<RotationEvent> rotations;

    BackendReader(SecretBackends backends, SecretCipher cipher, EntryTable table, CacheTiming timing,
            CacheMetrics metrics, Clock clock, Scheduler scheduler, Sinks.Many<RotationEvent> rotations) {
        this.backends = Objects.requireNonNull(backends, "backends must not be null");
        this.cipher = Objects.requireNonNull(cipher, "cipher must not be null");
        this.table = Objects.requireNonNull(table, "table must not be null");
        this.timing = Objects.requireNonNull(timing, "timing must not be null");
        this.metrics = Objects.requireNonNull(metrics, "metrics must not be null");
        this.clock = Objects.requireNonNull(clock, "clock must not be null");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler must not be null");
        this.rotations = Objects.requireNonNull(rotations, "rotations must not be null");
    }

    /** One read of the backend, cached as it ends; never fails (a failure is remembered and answered). */
    Mono<LoadOutcome> read(BackendLocation location) {
        SecretBackend backend;
        try {
            backend = backends.get(location.backend());
        } catch (RuntimeException ex) {
            return Mono.just(recordFailure(location, null, ex));
        }
        Timer.Sample sample = metrics.start();
        // Not cancelled on stop: a read in flight finishes (backends bound their own time) and wipes its value.
        return Mono.defer(() -> backend.read(location))
                .timeout(EncryptedSecretCache.CALL_LIMIT, scheduler)
                .doOnDiscard(BackendSecret.class, BackendSecret::wipe)
                .map(secret -> {
                    metrics.call(sample, backend.id(), CacheMetrics.READ, CacheMetrics.OK);
                    return install(location, secret);
                })
                .switchIfEmpty(Mono.fromSupplier(() -> {
                    metrics.call(sample, backend.id(), CacheMetrics.READ, CacheMetrics.NOT_FOUND);
                    return installAbsent(location);
                }))
                .onErrorResume(ex -> {
                    metrics.call(sample, backend.id(), CacheMetrics.READ, CacheMetrics.ERROR);
                    return Mono.just(recordFailure(location, null, ex));
                });
    }

    /** Encrypts the read, wipes its plaintext and replaces the entry whole. */
    private LoadOutcome install(BackendLocation location, BackendSecret secret) {
        EncryptedVersion current;
        EncryptedVersion previous;
        try {
            current = cipher.encrypt(location, secret.current());
            previous = secret.previous() == null ? null : cipher.encrypt(location, secret.previous());
        } catch (RuntimeException ex) {
            return recordFailure(location, null, ex);
        } finally {
            secret.wipe();
        }
        Instant now = clock.instant();
        CachedSecret entry;
        RotationEvent event = null;
        boolean recovered;
        synchronized (table) {
            Slot slot = table.slotFor(location);
            if (slot == null) {
                // The cache is full of slots that cannot be dropped right now: serve this read, keep nothing.
                return new Loaded(new CachedSecret(location, current, previous, now, now, secret.marker()));
            }
            CachedSecret old = slot.data;
            boolean rotated = old != null && !old.current().version().equals(current.version());
            entry = new CachedSecret(location, current, previous, now,
                    old == null || rotated ? now : old.rotatedAt(), secret.marker());
            slot.data = entry;
            slot.absences = 0;
            slot.notFoundUntil = null;
            recovered = slot.recover();
            slot.nextPollAt = timing.nextPoll(now);
            if (rotated) {
                event = new RotationEvent(location, current.version(),
                        previous == null ? null : previous.version(), now);
            }
        }
        if (recovered) {
            log.info("{} answers again for {}", location.backend(), location);
        }
        if (event != null) {
            log.info("Rotation seen at {}: current version is now {} (previous {})", location,
                    event.currentVersion(), event.previousVersion());
            metrics.rotation(location.backend());
            rotations.emitNext(event, Sinks.EmitFailureHandler.busyLooping(Duration.ofSeconds(1)));
        }
        return new Loaded(entry);
    }

    private LoadOutcome installAbsent(BackendLocation location) {
        Instant now = clock.instant();
        boolean deleted;
        synchronized (table) {
            Slot slot = table.slotFor(location);
            if (slot == null) {
                return Absent.INSTANCE;
            }
            deleted = slot.data != null;
            slot.data = null;
            slot.notFoundUntil = timing.notFoundUntil(now);
            slot.recover();
            // Only a watch reads an absent location in the background; each read that still finds nothing waits
            // twice as long for the next, so a watcher pinning names that do not exist costs ever fewer reads.
            slot.absences++;
            slot.nextPollAt = now.plus(timing.notFoundBackoff(slot.absences));
        }
        if (deleted) {
            log.info("{} no longer has a secret at {}; the cached copy was dropped", location.backend(), location);
        }
        return Absent.INSTANCE;
    }

    /**
     * Remembers a failure and backs off. {@code polled} is the slot a poll worked on (so that a poll does not
     * count as a use in the LRU order), or {@code null} to look the location up.
     */
    Failed recordFailure(BackendLocation location, @Nullable Slot polled, Throwable ex) {
        RuntimeException error;
        if (ex instanceof TimeoutException) {
            error = new BackendUnavailableException(location.backend(), location.backend() + " did not answer "
                    + "within " + EncryptedSecretCache.CALL_LIMIT.toSeconds() + "s for " + location.path()
                    + "; check that it is reachable from the broker");
        } else if (ex instanceof RuntimeException runtime) {
            error = runtime;
        } else {
            error = new BackendUnavailableException(location.backend(), location.backend() + " failed for "
                    + location.path() + ": " + ex.getClass().getSimpleName(), ex);
        }
        Instant now = clock.instant();
        Instant retryAt;
        boolean first;
        synchronized (table) {
            Slot slot = polled != null ? polled : table.slotFor(location);
            if (slot == null) {
                return new Failed(error, now.plus(timing.failureBackoff(1)));
            }
            slot.failures++;
            retryAt = now.plus(timing.failureBackoff(slot.failures));
            slot.retryAt = retryAt;
            slot.nextPollAt = retryAt;
            first = slot.lastError == null;
            slot.lastError = error;
        }
        if (first) {
            log.warn("{} failed for {}: {}; the last good value (if any) is served until keybroker.cache.ttl + "
                    + "keybroker.cache.max-stale after it was read; retrying with backoff", location.backend(),
                    location, error.getMessage());
        } else {
            log.debug("{} failed again for {}: {}", location.backend(), location, error.getMessage());
        }
        return new Failed(error, retryAt);
    }
}
