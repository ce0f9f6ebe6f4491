package io.keybroker.cache;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.function.Supplier;

/**
 * The cache's meters. Tag values come only from bounded sets (the configured backend ids, fixed operation,
 * outcome and result words), never from a path or a name, so no request can grow the number of series.
 */
final class CacheMetrics {

    static final String REQUESTS = "keybroker.cache.requests";
    static final String CALLS = "keybroker.backend.calls";
    static final String LATENCY = "keybroker.backend.latency";
    static final String ROTATIONS = "keybroker.cache.rotations";
    static final String EVICTIONS = "keybroker.cache.evictions";
    static final String SIZE = "keybroker.cache.size";

    static final String READ = "read";
    static final String MARKER = "marker";
    static final String OK = "ok";
    static final String ERROR = "error";
    static final String NOT_FOUND = "not_found";

    private final MeterRegistry registry;
    private final Counter hits;
    private final Counter misses;
    private final Counter stale;
    private final Counter evictions;

    CacheMetrics(MeterRegistry registry, Supplier<Number> size) {
        this.registry = registry;
        this.hits = requests("hit");
        this.misses = requests("miss");
        this.stale = requests("stale");
        this.evictions = Counter.builder(EVICTIONS)
                .description("Cache entries dropped because keybroker.cache.max-size was reached")
                .register(registry);
        Gauge.builder(SIZE, size).description("Secrets (and remembered absences and failures) held by the cache")
                .register(registry);
    }

    private Counter requests(String result) {
        return Counter.builder(REQUESTS).tag("result", result)
                .description("Cache lookups by result: hit (fresh entry or remembered absence), miss (needed the "
                        + "backend), stale (backend failed, last good value served)")
                .register(registry);
    }

    void hit() {
        hits.increment();
    }

    void miss() {
        misses.increment();
    }

    void stale() {
        stale.increment();
    }

    void eviction() {
        evictions.increment();
    }

    Timer.Sample start() {
        return Timer.start(registry);
    }

    /** Records one finished backend call: its count by outcome and its latency. */
    void call(Timer.Sample sample, String backend, String operation, String outcome) {
        sample.stop(Timer.builder(LATENCY).tag("backend", backend).tag("operation", operation)
                .description("Time of backend calls made by the cache").register(registry));
        Counter.builder(CALLS).tag("backend", backend).tag("operation", operation).tag("outcome", outcome)
                .description("Backend calls made by the cache").register(registry).increment();
    }

    void rotation(String backend) {
        Counter.builder(ROTATIONS).tag("backend", backend).description("New current versions seen by the cache")
                .register(registry).increment();
    }
}
