package io.keybroker.cache;

import io.keybroker.backend.BackendLocation;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * One backend read per location at a time: a caller arriving while a read is in flight waits for that read
 * instead of starting another, so a burst of requests for a cold or expired secret costs the backend one call.
 */
final class SingleFlightLoader {

    /** Starts the read of one location; its {@code Mono} must not fail (a failure is a {@link LoadOutcome}). */
    private final Function<BackendLocation, Mono<LoadOutcome>> read;
    private final Map<BackendLocation, Sinks.One<LoadOutcome>> flights = new ConcurrentHashMap<>();

    SingleFlightLoader(Function<BackendLocation, Mono<LoadOutcome>> read) {
        this.read = Objects.requireNonNull(read, "read must not be null");
    }

    /** The outcome of the read in flight for {@code location}, or of a new one if none is. */
    Mono<LoadOutcome> load(BackendLocation location) {
        return Mono.defer(() -> {
            Sinks.One<LoadOutcome> flight = Sinks.one();
            Sinks.One<LoadOutcome> inFlight = flights.putIfAbsent(location, flight);
            if (inFlight != null) {
                return inFlight.asMono();
            }
            // Started after putIfAbsent returned: a backend that answers synchronously must not re-enter the map
            // operation that registered the flight.
            // Not cancelled when the caller goes away: the read finishes (backends bound their own time) for the
            // others waiting on it, and its value is cached.
            read.apply(location).subscribe(outcome -> finish(location, flight, outcome));
            return flight.asMono();
        });
    }

    /** Whether a read of {@code location} is in flight; such an entry must not be evicted or polled. */
    boolean inFlight(BackendLocation location) {
        return flights.containsKey(location);
    }

    /**
     * Answers every caller still waiting with {@code outcome}, at shutdown; the reads themselves run on and their
     * late answers are dropped.
     */
    void abandonAll(Function<BackendLocation, LoadOutcome> outcome) {
        for (Map.Entry<BackendLocation, Sinks.One<LoadOutcome>> e : flights.entrySet()) {
            finish(e.getKey(), e.getValue(), outcome.apply(e.getKey()));
        }
    }

    private void finish(BackendLocation location, Sinks.One<LoadOutcome> flight, LoadOutcome outcome) {
        // Leave the flight before answering, so a caller that starts after the answer sees the new entry (or
        // starts a new read) and never joins a finished flight.
        flights.remove(location, flight);
        flight.tryEmitValue(outcome);
    }
}
