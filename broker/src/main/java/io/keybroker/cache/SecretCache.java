package io.keybroker.cache;

import io.keybroker.backend.BackendLocation;
import java.util.Collection;
import java.util.Optional;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The encrypted in-memory cache between the API and the backends. Every backend read goes through it, so
 * concurrent requests for one secret cause one backend call, and rotation is noticed in one place.
 *
 * <p>Answers are immutable {@link CachedSecret} entries whose values are encrypted; decrypt them with
 * {@link SecretCipher#withPlaintext} only to write a response.
 */
public interface SecretCache {

    /**
     * The entry for a location: from memory while fresh, else from the backend (one read shared by every
     * concurrent caller for the location). Empty when the backend has no such secret (remembered for
     * {@code keybroker.cache.not-found-ttl}). When the backend fails, the last good entry is served with source
     * {@link CacheLookup.Source#STALE} up to {@code ttl + max-stale} after it was fetched; otherwise the error is
     * {@link SecretUnavailableException} with a retry delay, or the backend's
     * {@link io.keybroker.backend.SecretFormatException} when the value cannot be served as configured.
     */
    Mono<CacheLookup> get(BackendLocation location);

    /**
     * What {@link #get} would answer from memory alone with an entry (fresh, or stale while the backend fails),
     * counted as {@link #get} counts it; empty when {@code get} would ask the backend, or answer with an absence
     * or an error, and then nothing is counted or changed. For a caller on an event loop that serves the common
     * case at once and hands every other case to the full path.
     */
    default Optional<CacheLookup> getIfPresent(BackendLocation location) {
        return Optional.empty();
    }

    /**
     * Re-reads the location from the backend now (for {@code POST /v1/secrets/{name}/refresh} and after a
     * rotation), joining a read already in flight. Empty when the backend has no such secret. A failure is an
     * error signal, even when an older entry could still be served by {@link #get}.
     */
    Mono<CacheLookup> refresh(BackendLocation location);

    /** Every rotation the cache sees, as it sees it (hot; no replay). Never carries a value. */
    Flux<RotationEvent> rotations();

    /**
     * Starts watching the given locations: while the returned watch is open they are kept loaded and polled for
     * changes even when no request reads them (a watcher must hear of a rotation whoever reads the secret).
     * Locations the backend does not have are re-read with a growing back-off, up to
     * {@code keybroker.cache.not-found-max-backoff}.
     *
     * @throws WatchCapacityException when all open watches together would keep more than half of
     *     {@code keybroker.cache.max-size} loaded; nothing is watched then
     */
    Watch watch(Collection<BackendLocation> locations);
}
