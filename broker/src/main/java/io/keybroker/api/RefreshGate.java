package io.keybroker.api;

import io.keybroker.backend.BackendLocation;
import io.keybroker.rotation.RotationProperties;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.stereotype.Component;

/**
 * The broker's refresh rate limit: at most one client-triggered backend re-read of a location per
 * {@code keybroker.rotation.refresh-min-interval}, shared by every way a client can force one
 * ({@code POST /v1/secrets/{name}/refresh}, the agent's {@code refreshNow=true}), so a crowd of clients that all
 * force a refresh turns into one backend read whichever protocol they speak.
 */
@Component
public class RefreshGate {

    private static final int MAX_TRACKED = 10_000;

    private final Duration minInterval;
    private final Clock clock;
    /** Last refresh per location; bounded, oldest dropped, because prefix grants allow many names. */
    private final Map<BackendLocation, Instant> lastRefresh = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<BackendLocation, Instant> eldest) {
            return size() > MAX_TRACKED;
        }
    };

    public RefreshGate(RotationProperties rotation, Clock clock) {
        this.minInterval = rotation.refreshMinInterval();
        this.clock = clock;
    }

    /** The least time between two refreshes of one location. */
    public Duration minInterval() {
        return minInterval;
    }

    /** Zero when a refresh may run now (and records it), else how long until one may. */
    public synchronized Duration reserve(BackendLocation location) {
        Instant now = clock.instant();
        Instant last = lastRefresh.get(location);
        if (last != null && now.isBefore(last.plus(minInterval))) {
            Duration wait = Duration.between(now, last.plus(minInterval));
            return wait.isZero() ? Duration.ofMillis(1) : wait;
        }
        lastRefresh.put(location, now);
        return Duration.ZERO;
    }
}
