package io.keybroker.cache;

import io.keybroker.backend.BackendLocation;
import io.keybroker.backend.ChangeMarker;
import io.keybroker.backend.SecretBackend;
import io.keybroker.backend.SecretBackends;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;

/**
 * The cache's background work: one periodic tick on the given {@link Scheduler} that walks the {@link EntryTable}
 * and starts what is due: marker polls (a data read only when the marker moved), refresh-ahead reads of entries
 * in use, and dropping entries that can never be served again. Idle entries cost no backend traffic.
 */
final class ChangePoller {

    /** Remembers a failed poll on the slot it worked on, so that a poll does not count as a use. */
    @FunctionalInterface
    interface FailureRecorder {
        void failed(BackendLocation location, Slot slot, Throwable error);
    }

    private static final Logger log = LoggerFactory.getLogger(ChangePoller.class);
    /** Background calls at once, so a tick with many due entries cannot flood a backend. */
    private static final int MAX_CONCURRENT_CALLS = 16;

    private final EntryTable table;
    private final CacheTiming timing;
    private final SecretBackends backends;
    private final CacheMetrics metrics;
    private final Clock clock;
    private final Scheduler scheduler;
    private final Function<BackendLocation, Mono<LoadOutcome>> load;
    private final Predicate<BackendLocation> inFlight;
    private final FailureRecorder failures;

    /** Completes on stop; background calls end with it. */
    private volatile Sinks.Empty<Void> stopped = Sinks.empty();
    private volatile @Nullable Disposable ticker;

    ChangePoller(EntryTable table, CacheTiming timing, SecretBackends backends, CacheMetrics metrics, Clock clock,
            Scheduler scheduler, Function<BackendLocation, Mono<LoadOutcome>> load,
            Predicate<BackendLocation> inFlight, FailureRecorder failures) {
        this.table = Objects.requireNonNull(table, "table must not be null");
        this.timing = Objects.requireNonNull(timing, "timing must not be null");
        this.backends = Objects.requireNonNull(backends, "backends must not be null");
        this.metrics = Objects.requireNonNull(metrics, "metrics must not be null");
        this.clock = Objects.requireNonNull(clock, "clock must not be null");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler must not be null");
        this.load = Objects.requireNonNull(load, "load must not be null");
        this.inFlight = Objects.requireNonNull(inFlight, "inFlight must not be null");
        this.failures = Objects.requireNonNull(failures, "failures must not be null");
    }

    synchronized void start() {
        if (ticker == null) {
            stopped = Sinks.empty();
            long period = timing.tickInterval().toMillis();
            ticker = scheduler.schedulePeriodically(this::safeTick, period, period, TimeUnit.MILLISECONDS);
            log.debug("cache poller started: ttl {}, max-stale {}, poll-interval {} (jitter {}), tick {}",
                    timing.ttl(), timing.maxStale(), timing.pollInterval(), timing.jitter(), timing.tickInterval());
        }
    }

    /** Cancels the tick and ends the background calls in progress. */
    void stop() {
        Disposable stopping;
        synchronized (this) {
            stopping = ticker;
            ticker = null;
        }
        if (stopping != null) {
            stopping.dispose();
        }
        stopped.tryEmitEmpty();
    }

    boolean isRunning() {
        return ticker != null;
    }

    /** Runs the due background work once; the periodic task calls it, tests may call it directly. */
    void tick() {
        Instant now = clock.instant();
        List<Due> reads = new ArrayList<>();
        List<Due> polls = new ArrayList<>();
        synchronized (table) {
            Iterator<Map.Entry<BackendLocation, Slot>> it = table.walk();
            while (it.hasNext()) {
                Map.Entry<BackendLocation, Slot> e = it.next();
                BackendLocation location = e.getKey();
                Slot slot = e.getValue();
                boolean busy = slot.polling || inFlight.test(location);
                boolean pinned = slot.pins > 0;
                boolean backingOff = slot.retryAt != null && now.isBefore(slot.retryAt);
                if (slot.data != null && !now.isBefore(timing.usableUntil(slot.data))) {
                    slot.data = null; // can never be served again
                }
                if (slot.notFoundUntil != null && !now.isBefore(slot.notFoundUntil)) {
                    slot.notFoundUntil = null;
                }
                if (!pinned && !busy && !backingOff && slot.data == null && slot.notFoundUntil == null) {
                    it.remove();
                    continue;
                }
                if (busy || backingOff) {
                    continue;
                }
                CachedSecret data = slot.data;
                if (data == null) {
                    // Only a watched location gets here: keep trying to load it.
                    if (slot.notFoundUntil == null && CacheTiming.due(slot.nextPollAt, now)) {
                        slot.polling = true;
                        reads.add(new Due(location, slot));
                    }
                    continue;
                }
                if (slot.refreshWasDue() && !now.isBefore(timing.refreshAt(data))) {
                    slot.polling = true;
                    reads.add(new Due(location, slot));
                } else if ((pinned || now.isBefore(timing.freshUntil(data)))
                        && CacheTiming.due(slot.nextPollAt, now)) {
                    slot.polling = true;
                    polls.add(new Due(location, slot));
                }
            }
        }
        if (reads.isEmpty() && polls.isEmpty()) {
            return;
        }
        // A read waiting for one of the MAX_CONCURRENT_CALLS is marked busy (polling) from now until it ends, so
        // the next tick does not queue it again: otherwise a backlog of reads grows by itself every tick.
        Flux.concat(Flux.fromIterable(reads).map(due -> load.apply(due.location()).then()
                                .doFinally(signal -> endPoll(due.slot()))),
                        Flux.fromIterable(polls).map(this::poll))
                .flatMap(call -> call, MAX_CONCURRENT_CALLS)
                .takeUntilOther(stopped.asMono())
                .subscribe(null, ex -> log.warn("background cache work failed: {}", ex.toString()));
    }

    /** Asks for the change marker and reads the data only when it moved. */
    private Mono<Void> poll(Due due) {
        BackendLocation location = due.location();
        Slot slot = due.slot();
        SecretBackend backend;
        try {
            backend = backends.get(location.backend());
        } catch (RuntimeException ex) {
            endPoll(slot);
            failures.failed(location, slot, ex);
            return Mono.empty();
        }
        Timer.Sample sample = metrics.start();
        return Mono.defer(() -> backend.marker(location))
                .timeout(EncryptedSecretCache.CALL_LIMIT, scheduler)
                .map(Optional::of)
                .defaultIfEmpty(Optional.empty())
                .flatMap(marker -> {
                    metrics.call(sample, backend.id(), CacheMetrics.MARKER,
                            marker.isPresent() ? CacheMetrics.OK : CacheMetrics.NOT_FOUND);
                    if (unchanged(slot, marker)) {
                        return Mono.<Void>empty();
                    }
                    endPoll(slot);
                    return load.apply(location).then();
                })
                .onErrorResume(ex -> {
                    metrics.call(sample, backend.id(), CacheMetrics.MARKER, CacheMetrics.ERROR);
                    endPoll(slot);
                    failures.failed(location, slot, ex);
                    return Mono.empty();
                })
                .doFinally(signal -> endPoll(slot));
    }

    /** Whether the marker still matches the entry; if so, schedules the next poll. */
    private boolean unchanged(Slot slot, Optional<ChangeMarker> marker) {
        Instant now = clock.instant();
        boolean recovered = false;
        boolean unchanged;
        synchronized (table) {
            slot.polling = false;
            CachedSecret data = slot.data;
            unchanged = marker.isPresent() && data != null && marker.get().equals(data.marker());
            if (unchanged) {
                recovered = slot.recover();
                slot.nextPollAt = timing.nextPoll(now);
            }
        }
        if (recovered) {
            log.info("the backend answers change-marker polls again");
        }
        return unchanged;
    }

    private void endPoll(Slot slot) {
        synchronized (table) {
            slot.polling = false;
        }
    }

    private void safeTick() {
        try {
            tick();
        } catch (RuntimeException ex) {
            // A periodic task that throws is cancelled; log and keep polling.
            log.warn("cache background tick failed: {}", ex.toString());
        }
    }

    private record Due(BackendLocation location, Slot slot) {
    }
}
