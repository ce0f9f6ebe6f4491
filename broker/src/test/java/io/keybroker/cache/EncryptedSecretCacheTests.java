package io.keybroker.cache;

import static io.keybroker.cache.VirtualClock.START;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keybroker.backend.BackendLocation;
import io.keybroker.backend.SecretBackends;
import io.keybroker.backend.SecretFormatException;
import io.keybroker.cache.CacheLookup.Source;
import io.keybroker.rotation.RotationProperties;
import io.keybroker.secret.SecretValue;
import io.keybroker.testsupport.PlaintextGraphSearch;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * The cache's logic against an in-memory backend, in virtual time: the periodic tick and the clock both follow
 * {@link VirtualTimeScheduler#advanceTimeBy}, so nothing sleeps.
 */
class EncryptedSecretCacheTests {

    private static final String PATH = "prod/stripe/secret-key";
    private static final BackendLocation KEY = BackendLocation.of("vault", PATH);
    private static final Duration TTL = Duration.ofSeconds(100);
    private static final Duration MAX_STALE = Duration.ofSeconds(50);
    private static final Duration NOT_FOUND_TTL = Duration.ofSeconds(10);
    private static final Duration NOT_FOUND_MAX_BACKOFF = Duration.ofSeconds(80);
    private static final Duration POLL = Duration.ofSeconds(10);
    private static final Instant V1_CREATED = Instant.parse("2026-08-20T10:00:00Z");
    private static final Instant V2_CREATED = Instant.parse("2026-11-20T09:59:00Z");

    private final VirtualTimeScheduler time = VirtualTimeScheduler.create();
    private final VirtualClock clock = new VirtualClock(time);
    private final InMemorySecretBackend backend = new InMemorySecretBackend("vault", clock);
    private SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final SecretCipher cipher = new SecretCipher();
    private final List<EncryptedSecretCache> caches = new ArrayList<>();
    private EncryptedSecretCache cache = cache(100, 0.2);

    @AfterEach
    void close() {
        caches.forEach(EncryptedSecretCache::close);
        time.dispose();
    }

    private EncryptedSecretCache cache(int maxSize, double jitter) {
        EncryptedSecretCache created = new EncryptedSecretCache(new SecretBackends(List.of(backend)), cipher,
                new CacheProperties(TTL, MAX_STALE, maxSize, NOT_FOUND_TTL, NOT_FOUND_MAX_BACKOFF, List.of()),
                new RotationProperties(POLL, Duration.ofDays(7), jitter, Duration.ofSeconds(5)), registry, clock,
                time, false, new Random(7));
        caches.add(created);
        return created;
    }

    private CacheLookup get(BackendLocation location) {
        return cache.get(location).block(Duration.ofSeconds(5));
    }

    private String plaintext(EncryptedVersion version) {
        return cipher.withPlaintext(version, bytes -> new String(bytes, StandardCharsets.UTF_8));
    }

    private void advance(Duration by) {
        time.advanceTimeBy(by);
    }

    private double requests(String result) {
        return registry.get(CacheMetrics.REQUESTS).tag("result", result).counter().count();
    }

    // ---------------------------------------------------------------------------------------- single flight

    @Test
    void shouldShareOneBackendReadAmongConcurrentMisses() throws Exception {
        backend.put(PATH, "1", V1_CREATED, "sk_test_one");
        backend.holdReads();
        int callers = 32;
        List<CompletableFuture<CacheLookup>> answers = new CopyOnWriteArrayList<>();
        CountDownLatch subscribed = new CountDownLatch(callers);
        ExecutorService threads = Executors.newFixedThreadPool(8);
        try {
            for (int i = 0; i < callers; i++) {
                threads.execute(() -> {
                    answers.add(cache.get(KEY).toFuture());
                    subscribed.countDown();
                });
            }
            assertThat(subscribed.await(10, TimeUnit.SECONDS)).isTrue();
        } finally {
            threads.shutdown();
        }

        assertThat(backend.reads).hasValue(1);
        assertThat(answers).noneMatch(CompletableFuture::isDone);
        backend.release();

        List<CacheLookup> hits = answers.stream().map(f -> f.join()).toList();
        assertThat(hits).hasSize(callers).allSatisfy(hit -> {
            assertThat(hit.source()).isEqualTo(Source.BACKEND);
            assertThat(hit.secret()).isSameAs(hits.get(0).secret());
        });
        assertThat(backend.reads).hasValue(1);
        assertThat(get(KEY).source()).isEqualTo(Source.CACHE);
        assertThat(backend.reads).hasValue(1);
    }

    @Test
    void shouldJoinAReadInFlightWhenRefreshed() {
        backend.put(PATH, "1", V1_CREATED, "sk_test_one");
        backend.holdReads();
        CompletableFuture<CacheLookup> got = cache.get(KEY).toFuture();
        CompletableFuture<CacheLookup> refreshed = cache.refresh(KEY).toFuture();

        backend.release();

        assertThat(backend.reads).hasValue(1);
        assertThat(refreshed.join().secret()).isSameAs(got.join().secret());
    }

    // ------------------------------------------------------------------------------------ ttl and refresh

    @Test
    void shouldRefreshAheadOfTtlAnEntryThatIsBeingRead() {
        backend.put(PATH, "1", V1_CREATED, "sk_test_one");
        cache.start();
        assertThat(get(KEY).source()).isEqualTo(Source.BACKEND);
        advance(Duration.ofSeconds(10));
        assertThat(get(KEY).source()).isEqualTo(Source.CACHE);

        advance(Duration.ofSeconds(69)); // t = 79 s, before 80% of the ttl
        assertThat(backend.reads).hasValue(1);
        advance(Duration.ofSeconds(2)); // t = 81 s
        assertThat(backend.reads).hasValue(2);

        advance(Duration.ofSeconds(30)); // t = 111 s: past the first read's ttl, within the refreshed one's
        CacheLookup hit = get(KEY);
        assertThat(hit.source()).isEqualTo(Source.CACHE);
        assertThat(hit.secret().fetchedAt()).isAfterOrEqualTo(START.plusSeconds(80));
        assertThat(backend.reads).hasValue(2);
    }

    @Test
    void shouldNeitherRefreshNorPollAnEntryNobodyReads() {
        backend.put(PATH, "1", V1_CREATED, "sk_test_one");
        cache.start();
        get(KEY);

        advance(Duration.ofSeconds(99));
        assertThat(backend.reads).hasValue(1);
        assertThat(backend.markers.get()).isPositive();

        advance(Duration.ofSeconds(2)); // expired: no longer fresh, so no longer polled
        int markers = backend.markers.get();
        advance(Duration.ofSeconds(300));
        assertThat(backend.markers).hasValue(markers);
        assertThat(backend.reads).hasValue(1);

        assertThat(get(KEY).source()).isEqualTo(Source.BACKEND);
        assertThat(backend.reads).hasValue(2);
    }

    @Test
    void shouldServeStaleUntilTtlPlusMaxStaleThenFailWithRetryAfter() {
        backend.put(PATH, "1", V1_CREATED, "sk_test_one");
        cache.start();
        get(KEY);
        backend.failWith(InMemorySecretBackend.outage("vault"));

        advance(Duration.ofSeconds(101));
        CacheLookup stale = get(KEY);
        assertThat(stale.source()).isEqualTo(Source.STALE);
        assertThat(plaintext(stale.secret().current())).isEqualTo("sk_test_one");
        advance(Duration.ofSeconds(48)); // t = 149 s, just inside ttl + max-stale
        assertThat(get(KEY).source()).isEqualTo(Source.STALE);

        advance(Duration.ofSeconds(2)); // t = 151 s
        assertThatThrownBy(() -> get(KEY))
                .isInstanceOfSatisfying(SecretUnavailableException.class, ex -> {
                    assertThat(ex.retryAfter()).isPositive().isLessThanOrEqualTo(POLL);
                    assertThat(ex.backend()).isEqualTo("vault");
                    assertThat(ex.getMessage()).contains("vault", PATH, "connection refused",
                            "keybroker.cache.max-stale").doesNotContain("sk_test_one");
                });
        assertThat(requests("stale")).isEqualTo(2);

        backend.heal();
        advance(POLL);
        assertThat(get(KEY).source()).isEqualTo(Source.BACKEND);
    }

    @Test
    void shouldBackOffAfterAFailureInsteadOfCallingTheBackendForEveryRequest() {
        backend.put(PATH, "1", V1_CREATED, "sk_test_one");
        backend.failWith(InMemorySecretBackend.outage("vault"));
        SecretUnavailableException first = catchUnavailable();
        assertThat(backend.reads).hasValue(1);

        SecretUnavailableException second = catchUnavailable();
        assertThat(backend.reads).hasValue(1);
        assertThat(second.retryAfter()).isLessThanOrEqualTo(first.retryAfter());
        assertThat(second.getMessage()).contains("connection refused");

        advance(first.retryAfter());
        backend.heal();
        assertThat(get(KEY).source()).isEqualTo(Source.BACKEND);
        assertThat(backend.reads).hasValue(2);
    }

    private SecretUnavailableException catchUnavailable() {
        try {
            get(KEY);
        } catch (SecretUnavailableException ex) {
            return ex;
        }
        throw new AssertionError("expected SecretUnavailableException");
    }

    @Test
    void shouldNotLetABackendThatNeverAnswersHoldRequestsForever() {
        backend.put(PATH, "1", V1_CREATED, "sk_test_one");
        backend.holdReads();
        CompletableFuture<CacheLookup> waiting = cache.get(KEY).toFuture();

        advance(EncryptedSecretCache.CALL_LIMIT.minusSeconds(1));
        assertThat(waiting).isNotDone();
        advance(Duration.ofSeconds(1));

        assertThatThrownBy(waiting::join).hasCauseInstanceOf(SecretUnavailableException.class)
                .hasMessageContaining("did not answer within 60s for " + PATH);
    }

    @Test
    void shouldAnswerStaleAtOnceWhileARefreshAheadOutlivesTheTtl() {
        backend.put(PATH, "1", V1_CREATED, "sk_test_one");
        cache.start();
        get(KEY);
        advance(Duration.ofSeconds(10));
        get(KEY); // read since it was fetched: refreshed ahead at 80 s
        backend.holdReads();
        advance(Duration.ofSeconds(71)); // t = 81 s: the refresh ahead hangs on a slow backend
        assertThat(backend.reads).hasValue(2);

        advance(Duration.ofSeconds(20)); // t = 101 s: past the ttl, the refresh still runs
        CompletableFuture<CacheLookup> answer = cache.get(KEY).toFuture();

        // Answered from memory without waiting for (or starting) a backend read.
        assertThat(answer).isDone();
        assertThat(answer.join().source()).isEqualTo(Source.STALE);
        assertThat(plaintext(answer.join().secret().current())).isEqualTo("sk_test_one");
        assertThat(backend.reads).hasValue(2);
        backend.release();
        assertThat(get(KEY).source()).isEqualTo(Source.CACHE);
    }

    @Test
    void shouldAnswerStaleAtOnceAfterAFailedReadAndLeaveTheRetryToTheBackgroundTick() {
        backend.put(PATH, "1", V1_CREATED, "sk_test_one");
        get(KEY);
        backend.failWith(InMemorySecretBackend.outage("vault"));
        advance(Duration.ofSeconds(101));
        assertThat(get(KEY).source()).isEqualTo(Source.STALE); // this read failed: backoff of at most 1 s
        assertThat(backend.reads).hasValue(2);
        advance(Duration.ofSeconds(2)); // the backoff is over; the backend now hangs instead of failing
        backend.heal();
        backend.holdReads();

        CompletableFuture<CacheLookup> answer = cache.get(KEY).toFuture();

        assertThat(answer).isDone();
        assertThat(answer.join().source()).isEqualTo(Source.STALE);
        assertThat(backend.reads).hasValue(2);
        cache.start();
        advance(Duration.ofSeconds(1)); // the tick re-reads what was served stale
        assertThat(backend.reads).hasValue(3);
        backend.release();
        assertThat(get(KEY).source()).isEqualTo(Source.CACHE);
    }

    @Test
    void shouldPassAFormatProblemThroughWhenNothingIsCached() {
        backend.failWith(new SecretFormatException("version 1 at vault:" + PATH + " has no field 'value'"));
        assertThatThrownBy(() -> get(KEY)).isInstanceOf(SecretFormatException.class).hasMessageContaining("field");
    }

    @Test
    void shouldFailARefreshWhenTheBackendFailsEvenWithAFreshEntry() {
        backend.put(PATH, "1", V1_CREATED, "sk_test_one");
        get(KEY);
        backend.failWith(InMemorySecretBackend.outage("vault"));

        assertThatThrownBy(() -> cache.refresh(KEY).block()).isInstanceOf(SecretUnavailableException.class);
        assertThat(get(KEY).source()).isEqualTo(Source.CACHE);
    }

    @Test
    void shouldNameTheBackendPropertiesWhenALocationNamesAnUnconfiguredBackend() {
        assertThatThrownBy(() -> get(BackendLocation.of("aws", PATH)))
                .isInstanceOf(SecretUnavailableException.class)
                .hasMessageContaining("backend 'aws' is not configured")
                .hasMessageContaining("keybroker.backend")
                .hasMessageContaining("keybroker.mappings");
    }

    // ---------------------------------------------------------------------------------------- not found

    @Test
    void shouldRememberThatASecretDoesNotExistForNotFoundTtl() {
        assertThat(cache.get(KEY).blockOptional()).isEmpty();
        assertThat(backend.reads).hasValue(1);
        backend.put(PATH, "1", V1_CREATED, "sk_test_one");

        assertThat(cache.get(KEY).blockOptional()).isEmpty();
        advance(NOT_FOUND_TTL.minusSeconds(1));
        assertThat(cache.get(KEY).blockOptional()).isEmpty();
        assertThat(backend.reads).hasValue(1);

        advance(Duration.ofSeconds(1));
        assertThat(get(KEY).source()).isEqualTo(Source.BACKEND);
        assertThat(backend.reads).hasValue(2);
    }

    @Test
    void shouldDropTheEntryWhenTheBackendNoLongerHasTheSecret() {
        backend.put(PATH, "1", V1_CREATED, "sk_test_one");
        cache.start();
        get(KEY);
        backend.delete(PATH);

        advance(POLL.multipliedBy(2));

        assertThat(cache.get(KEY).blockOptional()).isEmpty();
    }

    // ----------------------------------------------------------------------------------------- bounded

    @Test
    void shouldEvictTheLeastRecentlyUsedEntryBeyondMaxSize() {
        registry = new SimpleMeterRegistry(); // the size gauge belongs to the first cache a registry sees
        cache = cache(2, 0.2);
        BackendLocation a = BackendLocation.of("vault", "prod/a");
        BackendLocation b = BackendLocation.of("vault", "prod/b");
        BackendLocation c = BackendLocation.of("vault", "prod/c");
        for (BackendLocation location : List.of(a, b, c)) {
            backend.put(location.path(), "1", V1_CREATED, "value-of-" + location.path());
        }
        get(a);
        get(b);
        assertThat(get(a).source()).isEqualTo(Source.CACHE); // a is now the most recently used
        get(c); // evicts b

        assertThat(get(a).source()).isEqualTo(Source.CACHE);
        assertThat(get(c).source()).isEqualTo(Source.CACHE);
        assertThat(backend.reads).hasValue(3);
        assertThat(get(b).source()).isEqualTo(Source.BACKEND);
        assertThat(backend.reads).hasValue(4);
        assertThat(registry.get(CacheMetrics.EVICTIONS).counter().count()).isEqualTo(2);
        assertThat(registry.get(CacheMetrics.SIZE).gauge().value()).isEqualTo(2);
    }

    // ---------------------------------------------------------------------------------------- rotation

    @Test
    void shouldDetectARotationByPollingMarkersAndReadDataOnlyWhenTheMarkerMoves() {
        List<RotationEvent> events = new CopyOnWriteArrayList<>();
        Disposable subscription = cache.rotations().subscribe(events::add);
        backend.put(PATH, "1", V1_CREATED, "sk_test_one");
        cache.start();
        get(KEY);

        advance(Duration.ofSeconds(40));
        assertThat(backend.markers.get()).isGreaterThanOrEqualTo(3);
        assertThat(backend.reads).hasValue(1);
        assertThat(events).isEmpty();

        backend.put(PATH, "2", V2_CREATED, "sk_test_two");
        advance(POLL.multipliedBy(12).dividedBy(10).plusSeconds(1));

        assertThat(backend.reads).hasValue(2);
        assertThat(events).singleElement().satisfies(event -> {
            assertThat(event.location()).isEqualTo(KEY);
            assertThat(event.currentVersion()).isEqualTo("2");
            assertThat(event.previousVersion()).isEqualTo("1");
            assertThat(event.rotatedAt()).isAfter(START.plusSeconds(40)).isBeforeOrEqualTo(clock.instant());
        });
        CacheLookup hit = get(KEY);
        assertThat(hit.source()).isEqualTo(Source.CACHE);
        assertThat(hit.secret().current().version()).isEqualTo("2");
        assertThat(hit.secret().rotatedAt()).isEqualTo(events.get(0).rotatedAt());
        assertThat(plaintext(hit.secret().current())).isEqualTo("sk_test_two");
        assertThat(plaintext(hit.secret().previous())).isEqualTo("sk_test_one");
        assertThat(registry.get(CacheMetrics.ROTATIONS).tag("backend", "vault").counter().count()).isEqualTo(1);
        subscription.dispose();
    }

    @Test
    void shouldKeepRotatedAtWhileTheCurrentVersionStaysTheSame() {
        backend.put(PATH, "1", V1_CREATED, "sk_test_one");
        Instant firstSeen = get(KEY).secret().rotatedAt();
        advance(Duration.ofSeconds(30));

        CachedSecret refreshed = cache.refresh(KEY).block().secret();

        assertThat(refreshed.fetchedAt()).isEqualTo(START.plusSeconds(30));
        assertThat(refreshed.rotatedAt()).isEqualTo(firstSeen).isEqualTo(START);
    }

    @Test
    void shouldJitterPollsPerLocationSoAFleetDoesNotPollInStep() {
        BackendLocation a = BackendLocation.of("vault", "prod/a");
        BackendLocation b = BackendLocation.of("vault", "prod/b");
        backend.put("prod/a", "1", V1_CREATED, "value-a").put("prod/b", "1", V1_CREATED, "value-b");
        cache.start();
        get(a);
        get(b);

        advance(Duration.ofSeconds(90));

        Map<String, List<Instant>> polls = backend.markerCalls.stream().collect(Collectors.groupingBy(
                InMemorySecretBackend.Call::path, Collectors.mapping(InMemorySecretBackend.Call::at,
                        Collectors.toList())));
        assertThat(polls.get("prod/a")).isNotEqualTo(polls.get("prod/b"));
        for (List<Instant> times : polls.values()) {
            assertThat(times).hasSizeGreaterThanOrEqualTo(6);
            Instant before = START;
            for (Instant at : times) {
                // 10 s moved by up to 20% either way, seen at the next 1 s tick
                assertThat(Duration.between(before, at)).isBetween(Duration.ofSeconds(8), Duration.ofSeconds(13));
                before = at;
            }
        }
    }

    @Test
    void shouldPollInStepWithoutJitter() {
        cache = cache(100, 0);
        backend.put("prod/a", "1", V1_CREATED, "value-a").put("prod/b", "1", V1_CREATED, "value-b");
        cache.start();
        get(BackendLocation.of("vault", "prod/a"));
        get(BackendLocation.of("vault", "prod/b"));

        advance(Duration.ofSeconds(35));

        assertThat(backend.markerCalls).extracting(InMemorySecretBackend.Call::at)
                .containsExactly(START.plusSeconds(10), START.plusSeconds(10), START.plusSeconds(20),
                        START.plusSeconds(20), START.plusSeconds(30), START.plusSeconds(30));
    }

    @Test
    void shouldBackOffMarkerPollsWhileTheBackendFails() {
        backend.put(PATH, "1", V1_CREATED, "sk_test_one");
        cache.start();
        get(KEY);
        backend.failWith(InMemorySecretBackend.outage("vault"));

        advance(Duration.ofSeconds(90));

        // Without backoff a failing poll would be retried at every 1 s tick (about 80 calls).
        assertThat(backend.markers.get()).isBetween(3, 20);
        assertThat(registry.get(CacheMetrics.CALLS).tags("backend", "vault", "operation", "marker", "outcome",
                "error").counter().count()).isPositive();
    }

    @Test
    void shouldSwapTheCurrentAndPreviousPairAtomically() throws Exception {
        backend.put(PATH, "1", V1_CREATED, "value-1");
        get(KEY);
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicInteger checked = new AtomicInteger();
        List<String> torn = new CopyOnWriteArrayList<>();
        ExecutorService readers = Executors.newFixedThreadPool(3);
        List<java.util.concurrent.Future<?>> running = new ArrayList<>();
        for (int r = 0; r < 3; r++) {
            running.add(readers.submit(() -> {
                while (writing.get()) {
                    CachedSecret secret = get(KEY).secret();
                    int current = Integer.parseInt(secret.current().version());
                    String currentValue = plaintext(secret.current());
                    if (!currentValue.equals("value-" + current)) {
                        torn.add("current " + current + " had the value of another version");
                    }
                    if (secret.previous() != null) {
                        int previous = Integer.parseInt(secret.previous().version());
                        if (previous != current - 1 || !plaintext(secret.previous()).equals("value-" + previous)) {
                            torn.add("pair (" + current + ", " + previous + ")");
                        }
                    }
                    checked.incrementAndGet();
                }
            }));
        }
        try {
            for (int v = 2; v <= 300; v++) {
                backend.put(PATH, Integer.toString(v), V1_CREATED.plusSeconds(v), "value-" + v);
                cache.refresh(KEY).block();
            }
        } finally {
            writing.set(false);
            readers.shutdown();
        }
        for (java.util.concurrent.Future<?> reader : running) {
            reader.get(30, TimeUnit.SECONDS);
        }
        assertThat(torn).isEmpty();
        assertThat(checked.get()).isPositive();
        assertThat(get(KEY).secret().current().version()).isEqualTo("300");
    }

    @Test
    void shouldKeepAWatchedLocationPolledEvenWhenNobodyReadsIt() {
        backend.put(PATH, "1", V1_CREATED, "sk_test_one");
        cache.start();
        List<RotationEvent> events = new CopyOnWriteArrayList<>();
        Watch watched = cache.watch(Set.of(KEY));
        Disposable watch = watched.events().subscribe(events::add);

        advance(Duration.ofSeconds(2));
        assertThat(backend.reads).hasValue(1); // loaded for the watcher
        advance(TTL.plus(MAX_STALE).multipliedBy(3)); // long past any unread entry's life
        backend.put(PATH, "2", V2_CREATED, "sk_test_two");
        advance(POLL.multipliedBy(2));

        assertThat(events).extracting(RotationEvent::currentVersion).containsExactly("2");

        watch.dispose();
        watched.close();
        advance(TTL.plus(MAX_STALE).plusSeconds(10));
        int markers = backend.markers.get();
        advance(Duration.ofSeconds(300));
        assertThat(backend.markers).hasValue(markers);
    }

    @Test
    void shouldReadAWatchedSecretTheBackendLacksWithAGrowingBackoff() {
        cache.start();
        Watch watched = cache.watch(Set.of(KEY));

        advance(Duration.ofSeconds(600));

        // 10 s, then 20, 40 and 80 s (the cap) between reads: about ten reads in ten minutes, where polling at
        // the poll interval and not-found-ttl (10 s each) would have made some fifty.
        assertThat(backend.reads.get()).isBetween(5, 12);
        backend.put(PATH, "1", V1_CREATED, "sk_test_one");
        advance(NOT_FOUND_MAX_BACKOFF.plusSeconds(2));
        assertThat(get(KEY).source()).isEqualTo(Source.CACHE); // the watch still finds it once it exists
        watched.close();
    }

    @Test
    void shouldNotQueueAWatchedReadAgainWhileItWaitsForABackendCall() {
        cache.start();
        List<BackendLocation> absent = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            absent.add(BackendLocation.of("vault", "prod/absent-" + i));
        }
        backend.holdEachRead();
        Watch watched = cache.watch(absent);

        advance(Duration.ofSeconds(5)); // five ticks while at most 16 reads run and the rest wait their turn
        // Newest first, like a backend whose later calls happen to answer sooner: a read some tick queued twice
        // then runs again after its first run ended.
        while (backend.releaseNewest()) {
            // each release may start the next queued read, itself held until released here
        }
        advance(Duration.ofSeconds(1));

        assertThat(backend.reads).hasValue(absent.size());
        watched.close();
    }

    @Test
    void shouldKeepMaxSizeHardWhileWatchesPinLocations() {
        registry = new SimpleMeterRegistry(); // the size gauge belongs to the first cache a registry sees
        cache = cache(4, 0.2);
        cache.start();
        BackendLocation a = BackendLocation.of("vault", "prod/a");
        BackendLocation b = BackendLocation.of("vault", "prod/b");
        Watch first = cache.watch(List.of(a, b));

        // Watches may pin half of max-size; a second watch of other (even absent) names would take more.
        assertThatThrownBy(() -> cache.watch(List.of(BackendLocation.of("vault", "prod/c"))))
                .isInstanceOf(WatchCapacityException.class).hasMessageContaining("keybroker.cache.max-size");
        Watch again = cache.watch(List.of(a)); // already pinned: costs nothing more
        for (int i = 0; i < 10; i++) {
            String path = "prod/read-" + i;
            backend.put(path, "1", V1_CREATED, "value-" + i);
            assertThat(get(BackendLocation.of("vault", path)).secret().current().version()).isEqualTo("1");
            assertThat(registry.get(CacheMetrics.SIZE).gauge().value()).isLessThanOrEqualTo(4);
        }
        advance(Duration.ofSeconds(30));
        assertThat(registry.get(CacheMetrics.SIZE).gauge().value()).isLessThanOrEqualTo(4);

        first.close();
        first.close(); // closing twice gives back nothing twice
        assertThatThrownBy(() -> cache.watch(List.of(BackendLocation.of("vault", "prod/c"),
                BackendLocation.of("vault", "prod/d")))).isInstanceOf(WatchCapacityException.class);
        again.close();
        cache.watch(List.of(BackendLocation.of("vault", "prod/c"), BackendLocation.of("vault", "prod/d"))).close();
    }

    @Test
    void shouldDeliverOnlyTheWatchedLocationsRotations() {
        BackendLocation other = BackendLocation.of("vault", "prod/other");
        backend.put(PATH, "1", V1_CREATED, "sk_test_one").put("prod/other", "1", V1_CREATED, "other-one");
        get(KEY);
        get(other);
        List<RotationEvent> events = new CopyOnWriteArrayList<>();
        cache.watch(List.of(KEY)).events().subscribe(events::add);

        backend.put("prod/other", "2", V2_CREATED, "other-two");
        cache.refresh(other).block();
        backend.put(PATH, "2", V2_CREATED, "sk_test_two");
        cache.refresh(KEY).block();

        assertThat(events).extracting(RotationEvent::location).containsExactly(KEY);
    }

    @Test
    void shouldStopPollingAndCompleteRotationStreamsOnStop() {
        backend.put(PATH, "1", V1_CREATED, "sk_test_one");
        cache.start();
        get(KEY);
        AtomicBoolean completed = new AtomicBoolean();
        cache.rotations().subscribe(null, null, () -> completed.set(true));
        advance(Duration.ofSeconds(20));
        assertThat(cache.isRunning()).isTrue();

        cache.stop();

        assertThat(cache.isRunning()).isFalse();
        assertThat(completed).isTrue();
        int markers = backend.markers.get();
        advance(Duration.ofSeconds(60));
        assertThat(backend.markers).hasValue(markers);
    }

    @Test
    void shouldFailReadsInFlightOnStop() {
        backend.put(PATH, "1", V1_CREATED, "sk_test_one");
        cache.start();
        backend.holdReads();
        CompletableFuture<CacheLookup> waiting = cache.get(KEY).toFuture();

        cache.stop();

        assertThat(waiting).isCompletedExceptionally();
        assertThatThrownBy(waiting::join).hasCauseInstanceOf(SecretUnavailableException.class)
                .hasMessageContaining("shutting down");
        backend.release();
    }

    // ------------------------------------------------------------------------------------ no plaintext kept

    @Test
    void shouldKeepNoPlaintextInTheEntryOrAnywhereInTheCache() {
        backend.put(PATH, "1", V1_CREATED, "sk_test_old_51HxYzPlaintextOne");
        backend.put(PATH, "2", V2_CREATED, "sk_test_new_51HxYzPlaintextTwo");
        cache.start();
        CachedSecret secret = get(KEY).secret();
        advance(Duration.ofSeconds(30)); // some polls, so the background state is populated too

        for (String value : List.of("sk_test_old_51HxYzPlaintextOne", "sk_test_new_51HxYzPlaintextTwo")) {
            assertThat(PlaintextGraphSearch.find(secret, value)).isEmpty();
            assertThat(PlaintextGraphSearch.find(cache, value, InMemorySecretBackend.class)).isEmpty();
            assertThat(new String(secret.current().ciphertext(), StandardCharsets.ISO_8859_1)).doesNotContain(value);
            assertThat(new String(secret.previous().ciphertext(), StandardCharsets.ISO_8859_1))
                    .doesNotContain(value);
        }
        // The search does find a value where there is one, so its empty answers mean something.
        assertThat(PlaintextGraphSearch.find(backend, "sk_test_new_51HxYzPlaintextTwo")).isNotEmpty();
        assertThat(plaintext(secret.current())).isEqualTo("sk_test_new_51HxYzPlaintextTwo");
    }

    @Test
    void shouldWipeTheBackendsValuesOnceEncrypted() throws Exception {
        backend.put(PATH, "1", V1_CREATED, "sk_test_one");
        backend.put(PATH, "2", V2_CREATED, "sk_test_two");
        get(KEY);
        cache.refresh(KEY).block();

        assertThat(backend.handedOut).hasSize(4).allSatisfy(value -> {
            assertThat(value.isWiped()).isTrue();
            assertThat(rawBytes(value)).containsOnly(0);
        });
    }

    static byte[] rawBytes(SecretValue value) throws ReflectiveOperationException {
        Field bytes = SecretValue.class.getDeclaredField("bytes");
        bytes.setAccessible(true);
        return (byte[]) bytes.get(value);
    }

    // ----------------------------------------------------------------------------------------- metrics

    @Test
    void shouldCountHitsMissesStaleAndBackendCallsWithBoundedTags() {
        backend.put(PATH, "1", V1_CREATED, "sk_test_one");
        cache.start();
        get(KEY);
        get(KEY);
        get(KEY);
        cache.get(BackendLocation.of("vault", "prod/missing")).block();
        advance(Duration.ofSeconds(20));
        backend.failWith(InMemorySecretBackend.outage("vault"));
        advance(TTL);
        get(KEY); // stale at once (the polls failed); the tick then re-reads, and that read fails
        advance(POLL);

        assertThat(requests("hit")).isEqualTo(2);
        assertThat(requests("miss")).isEqualTo(2);
        assertThat(requests("stale")).isEqualTo(1);
        assertThat(registry.get(CacheMetrics.CALLS).tags("backend", "vault", "operation", "read", "outcome", "ok")
                .counter().count()).isEqualTo(1);
        assertThat(registry.get(CacheMetrics.CALLS).tags("operation", "read", "outcome", "not_found").counter()
                .count()).isEqualTo(1);
        assertThat(registry.get(CacheMetrics.CALLS).tags("operation", "read", "outcome", "error").counter()
                .count()).isPositive();
        assertThat(registry.get(CacheMetrics.CALLS).tags("operation", "marker", "outcome", "ok").counter()
                .count()).isPositive();
        assertThat(registry.get(CacheMetrics.LATENCY).tags("backend", "vault", "operation", "read").timer()
                .count()).isGreaterThanOrEqualTo(3);
        for (Meter meter : registry.getMeters()) {
            for (Tag tag : meter.getId().getTags()) {
                assertThat(tag.getValue()).doesNotContain("prod", "stripe", "sk_test");
            }
        }
    }
}
