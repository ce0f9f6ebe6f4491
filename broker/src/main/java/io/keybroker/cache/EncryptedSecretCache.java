package io.keybroker.cache;

import io.keybroker.backend.BackendLocation;
import io.keybroker.backend.BackendUnavailableException;
import io.keybroker.backend.SecretBackends;
import io.keybroker.backend.SecretFormatException;
import io.keybroker.cache.CacheLookup.Source;
import io.keybroker.cache.LoadOutcome.Failed;
import io.keybroker.cache.LoadOutcome.Loaded;
import io.keybroker.rotation.RotationProperties;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.random.RandomGenerator;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;

/**
 * The {@link SecretCache}: a bounded map of encrypted, immutable entries with single-flight loads, refresh ahead
 * of the ttl, stale serving within max-stale, remembered absences and failures, and rotation detection by
 * polling the backends' change markers with jitter.
 *
 * <h2>How time passes</h2>
 * All timing decisions read the injected {@link Clock}; background work runs as one periodic tick on the injected
 * Reactor {@link Scheduler}. Tests pass a virtual-time scheduler and a clock that reads it, and move time without
 * sleeping. Each tick of the {@link ChangePoller} walks the entries and starts what is due:
 * <ul>
 *   <li>a <b>marker poll</b> for each entry still fresh (or watched) whose jittered poll time has come; a data
 *       read follows only when the marker moved;</li>
 *   <li>a <b>refresh-ahead read</b> at 80% of the ttl for entries read at least once since they were fetched
 *       (or watched). An entry nobody reads is not refreshed: it expires at its ttl, stops being polled, and
 *       is dropped once it is past ttl + max-stale, so idle secrets cost no backend traffic;</li>
 *   <li>dropping entries that can never be served again.</li>
 * </ul>
 *
 * <h2>Failures</h2>
 * A failed read or poll remembers the error and backs off (1 s doubling up to the poll interval, at most 60 s,
 * with jitter). While backing off, requests are answered from memory only: the stale entry if usable, else the
 * remembered error at once, with the time until the next try as {@code Retry-After}. An entry that expires
 * although it was due for a refresh ahead (the backend failed or was slow) is also served stale at once while
 * usable, and never makes a request wait for the backend.
 *
 * <p>It is a façade over {@link CacheTiming} (every duration), {@link SingleFlightLoader} (one backend read per
 * location), {@link BackendReader} (a read and what it leaves in the table), {@link EntryTable} (the bounded
 * slots) and {@link ChangePoller} (the tick). All state lives in the
 * table, whose monitor is the one lock, held only for table work: backend calls, encryption and decryption happen
 * outside it.
 */
public final class EncryptedSecretCache implements SecretCache, SmartLifecycle, AutoCloseable {

    /** Starts before and stops after the web server, so requests in flight at shutdown still find the cache. */
    static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 4096;

    private static final Logger log = LoggerFactory.getLogger(EncryptedSecretCache.class);
    /**
     * A last-resort bound on one backend call. Backends bound their own calls far tighter; this only keeps a
     * backend that never answers from holding a single flight (and every request waiting on it) forever.
     */
    static final Duration CALL_LIMIT = Duration.ofSeconds(60);

    private final Clock clock;
    private final Scheduler scheduler;
    private final boolean ownsScheduler;
    private final CacheTiming timing;
    private final CacheMetrics metrics;

    /** Every location's state; its monitor is the one lock of the cache. */
    private final EntryTable table;
    private final SingleFlightLoader loader;
    private final Sinks.Many<RotationEvent> rotations = Sinks.many().multicast().directBestEffort();
    private final BackendReader reader;
    private final ChangePoller poller;

    /**
     * @param scheduler runs the periodic background tick
     * @param ownsScheduler whether {@link #close()} disposes {@code scheduler}
     * @param random the source of jitter
     */
    public EncryptedSecretCache(SecretBackends backends, SecretCipher cipher, CacheProperties cache,
            RotationProperties rotation, MeterRegistry registry, Clock clock, Scheduler scheduler,
            boolean ownsScheduler, RandomGenerator random) {
        this.ownsScheduler = ownsScheduler;
        this.clock = Objects.requireNonNull(clock, "clock must not be null");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler must not be null");
        this.timing = new CacheTiming(cache, rotation, random);
        this.metrics = new CacheMetrics(Objects.requireNonNull(registry, "registry must not be null"), this::size);
        // The loader starts reads, the table spares slots the loader is reading, the reader writes into the table:
        // the loader reaches the reader through this cache, only when a read starts, after construction.
        this.loader = new SingleFlightLoader(this::read);
        this.table = new EntryTable(cache.maxSize(), loader::inFlight, metrics::eviction);
        this.reader = new BackendReader(backends, cipher, table, timing, metrics, clock, scheduler, rotations);
        this.poller = new ChangePoller(table, timing, backends, metrics, clock, scheduler, loader::load,
                loader::inFlight, reader::recordFailure);
    }

    // ---------------------------------------------------------------------------------------------- requests

    @Override
    public Mono<CacheLookup> get(BackendLocation location) {
        Objects.requireNonNull(location, "location must not be null");
        return Mono.defer(() -> {
            Mono<CacheLookup> fromMemory;
            synchronized (table) {
                fromMemory = fromMemory(location, clock.instant());
            }
            return fromMemory != null ? fromMemory : load(location).flatMap(outcome -> answerGet(location, outcome));
        });
    }

    @Override
    public Optional<CacheLookup> getIfPresent(BackendLocation location) {
        Objects.requireNonNull(location, "location must not be null");
        Instant now = clock.instant();
        synchronized (table) {
            Slot slot = table.get(location);
            Memory memory = slot == null ? Memory.BACKEND : memory(slot, now);
            if (memory != Memory.FRESH && memory != Memory.STALE) {
                return Optional.empty();
            }
            return Optional.of(served(slot, memory, now));
        }
    }

    /** What memory alone can answer for a slot; decides only, changes and counts nothing. */
    private enum Memory {
        /** The entry, younger than the ttl. */
        FRESH,
        /** The entry, past the ttl but usable, while the backend fails or was too slow for a refresh ahead. */
        STALE,
        /** A remembered absence. */
        ABSENT,
        /** A remembered failure, while backing off, with no usable entry. */
        FAILED,
        /** Nothing memory can answer: ask the backend. */
        BACKEND
    }

    private Memory memory(Slot slot, Instant now) {
        if (slot.data != null && now.isBefore(timing.freshUntil(slot.data))) {
            return Memory.FRESH;
        }
        if (slot.notFoundUntil != null && now.isBefore(slot.notFoundUntil)) {
            return Memory.ABSENT;
        }
        boolean usable = slot.data != null && now.isBefore(timing.usableUntil(slot.data));
        if (slot.retryAt != null && now.isBefore(slot.retryAt) && slot.lastError != null) {
            // Backing off after a failure: do not call the backend again for every request.
            return usable ? Memory.STALE : Memory.FAILED;
        }
        // Expired although a refresh ahead was due (the entry was read or watched since it was fetched): the
        // backend failed or was too slow for that refresh, so answer stale now instead of making this request
        // wait up to the backend's timeout for a read that is likely to fail or crawl too. The background tick
        // keeps re-reading (with backoff) and installs the fresh entry when it arrives. Only an entry nobody
        // read since its fetch (no refresh was attempted) makes its next request wait for the backend.
        return usable && slot.refreshWasDue() ? Memory.STALE : Memory.BACKEND;
    }

    /** Serves a slot's entry from memory: a use in the LRU order, counted as a hit or a stale answer. */
    private CacheLookup served(Slot slot, Memory memory, Instant now) {
        slot.lastHitAt = now;
        if (memory == Memory.FRESH) {
            metrics.hit();
            return new CacheLookup(slot.data, Source.CACHE);
        }
        metrics.stale();
        return new CacheLookup(slot.data, Source.STALE);
    }

    /** The answer memory alone can give, or {@code null} when the backend must be asked. */
    private @Nullable Mono<CacheLookup> fromMemory(BackendLocation location, Instant now) {
        Slot slot = table.get(location);
        if (slot == null) {
            return null;
        }
        Memory memory = memory(slot, now);
        return switch (memory) {
            case FRESH, STALE -> Mono.just(served(slot, memory, now));
            case ABSENT -> {
                metrics.hit();
                yield Mono.empty();
            }
            case FAILED -> {
                metrics.miss();
                yield Mono.error(failure(location, slot.lastError, Duration.between(now, slot.retryAt)));
            }
            case BACKEND -> null;
        };
    }

    private Mono<CacheLookup> answerGet(BackendLocation location, LoadOutcome outcome) {
        if (outcome instanceof Loaded loaded) {
            metrics.miss();
            return Mono.just(new CacheLookup(loaded.secret(), Source.BACKEND));
        }
        if (outcome instanceof Failed failed) {
            Instant now = clock.instant();
            CachedSecret stale = null;
            synchronized (table) {
                Slot slot = table.get(location);
                if (slot != null && slot.data != null && now.isBefore(timing.usableUntil(slot.data))) {
                    slot.lastHitAt = now;
                    stale = slot.data;
                }
            }
            if (stale != null) {
                metrics.stale();
                return Mono.just(new CacheLookup(stale, Source.STALE));
            }
            metrics.miss();
            return Mono.error(failure(location, failed.error(), Duration.between(now, failed.retryAt())));
        }
        metrics.miss();
        return Mono.empty();
    }

    @Override
    public Mono<CacheLookup> refresh(BackendLocation location) {
        Objects.requireNonNull(location, "location must not be null");
        return load(location).flatMap(outcome -> {
            if (outcome instanceof Loaded loaded) {
                synchronized (table) {
                    Slot slot = table.get(location);
                    if (slot != null) {
                        slot.lastHitAt = clock.instant();
                    }
                }
                return Mono.just(new CacheLookup(loaded.secret(), Source.BACKEND));
            }
            if (outcome instanceof Failed failed) {
                return Mono.error(failure(location, failed.error(),
                        Duration.between(clock.instant(), failed.retryAt())));
            }
            return Mono.empty();
        });
    }

    @Override
    public Flux<RotationEvent> rotations() {
        return rotations.asFlux();
    }

    @Override
    public Watch watch(Collection<BackendLocation> locations) {
        Set<BackendLocation> watched = Set.copyOf(locations);
        table.pin(watched, clock.instant());
        return new Watch(rotations.asFlux().filter(event -> watched.contains(event.location())),
                () -> table.unpin(watched));
    }

    private RuntimeException failure(BackendLocation location, RuntimeException error, Duration retryAfter) {
        if (error instanceof SecretFormatException) {
            // A fresh instance per subscriber: one exception object must not travel through several requests.
            return new SecretFormatException(error.getMessage());
        }
        long seconds = Math.max(1, (retryAfter.toMillis() + 999) / 1000);
        return new SecretUnavailableException(location.backend(), location.backend() + " could not be read for "
                + location.path() + ": " + error.getMessage() + "; no cached copy is usable (the last good read, "
                + "if any, is older than keybroker.cache.ttl " + timing.ttl() + " + keybroker.cache.max-stale "
                + timing.maxStale()
                + "); the broker asks the backend again in " + seconds + "s", retryAfter, error);
    }

    // ------------------------------------------------------------------------------------------------ loading

    private Mono<LoadOutcome> load(BackendLocation location) {
        return loader.load(location);
    }

    private Mono<LoadOutcome> read(BackendLocation location) {
        return reader.read(location);
    }

    /** Runs the due background work once; tests may call it to move the background on without a scheduler. */
    void tick() {
        poller.tick();
    }

    // ------------------------------------------------------------------------------------------- lifecycle

    @Override
    public void start() {
        poller.start();
    }

    /**
     * Stops background work, fails reads still in flight, and completes every rotation stream (for good: the
     * streams are not reopened by a later {@link #start()}).
     */
    @Override
    public void stop() {
        poller.stop();
        loader.abandonAll(location -> new Failed(new BackendUnavailableException(location.backend(),
                "the broker is shutting down; the read of " + location + " was stopped"), clock.instant()));
        rotations.tryEmitComplete();
        log.debug("cache stopped");
    }

    @Override
    public boolean isRunning() {
        return poller.isRunning();
    }

    /** Stops, and releases the scheduler if this cache owns it. */
    @Override
    public void close() {
        stop();
        if (ownsScheduler) {
            scheduler.dispose();
        }
    }

    @Override
    public int getPhase() {
        return PHASE;
    }

    // --------------------------------------------------------------------------------------------- helpers

    private int size() {
        return table.size();
    }
}
