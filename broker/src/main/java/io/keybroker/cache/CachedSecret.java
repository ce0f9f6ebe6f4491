package io.keybroker.cache;

import io.keybroker.backend.BackendLocation;
import io.keybroker.backend.ChangeMarker;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * One immutable cache entry: the encrypted current and previous versions of one location as one backend read
 * returned them. A rotation replaces the whole entry in one step, so a response built from one entry can never
 * mix versions.
 *
 * @param location where the secret lives
 * @param current the current version
 * @param previous the previous live version, or {@code null}; whether it may still be served is
 *     {@link #previousWithinGrace}
 * @param fetchedAt when the backend returned this state; the entry is fresh until {@code fetchedAt + ttl} and
 *     may be served stale until {@code fetchedAt + ttl + max-stale}
 * @param rotatedAt when this broker first saw {@code current} as the current version (a broker that starts, or
 *     loads the secret again after dropping it, sees it then)
 * @param marker the backend's change marker for this state; polls compare against it
 */
public record CachedSecret(BackendLocation location, EncryptedVersion current, @Nullable EncryptedVersion previous,
        Instant fetchedAt, Instant rotatedAt, ChangeMarker marker) {

    public CachedSecret {
        Objects.requireNonNull(location, "location must not be null");
        Objects.requireNonNull(current, "current must not be null");
        Objects.requireNonNull(fetchedAt, "fetchedAt must not be null");
        Objects.requireNonNull(rotatedAt, "rotatedAt must not be null");
        Objects.requireNonNull(marker, "marker must not be null");
        if (!current.location().equals(location) || previous != null && !previous.location().equals(location)) {
            throw new IllegalArgumentException("the versions of a cache entry must belong to its location " + location);
        }
    }

    /**
     * The previous version while it is inside its grace window: {@code now} is before the current version's
     * backend creation time plus {@code grace}. Counting from the backend's creation time (not from when this
     * broker noticed) means every broker of a fleet stops serving the old key at the same moment.
     */
    public Optional<EncryptedVersion> previousWithinGrace(Instant now, Duration grace) {
        Objects.requireNonNull(now, "now must not be null");
        Objects.requireNonNull(grace, "grace must not be null");
        if (previous == null || !now.isBefore(current.createdAt().plus(grace))) {
            return Optional.empty();
        }
        return Optional.of(previous);
    }
}
