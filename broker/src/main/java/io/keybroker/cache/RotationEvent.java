package io.keybroker.cache;

import io.keybroker.backend.BackendLocation;
import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The cache saw a new current version at a location. Carries versions and a time, never a value.
 *
 * @param location where the secret lives
 * @param currentVersion the new current version id
 * @param previousVersion the previous version id the backend reported with it, or {@code null}
 * @param rotatedAt when this broker saw the new version
 */
public record RotationEvent(BackendLocation location, String currentVersion, @Nullable String previousVersion,
        Instant rotatedAt) {

    public RotationEvent {
        Objects.requireNonNull(location, "location must not be null");
        Objects.requireNonNull(currentVersion, "currentVersion must not be null");
        Objects.requireNonNull(rotatedAt, "rotatedAt must not be null");
    }
}
