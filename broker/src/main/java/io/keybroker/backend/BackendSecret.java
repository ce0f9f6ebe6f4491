package io.keybroker.backend;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What a backend read returns: the current version, the previous live version if there is one, and the change
 * marker that describes this state. The previous version is returned whatever its age; whether it is still
 * inside its grace window is decided once, by the cache, not by each backend.
 *
 * @param current the current version
 * @param previous the previous live version, or {@code null}
 * @param marker the change marker of this state, equal to what {@link SecretBackend#marker} returns until the
 *     secret changes
 */
public record BackendSecret(BackendVersion current, @Nullable BackendVersion previous, ChangeMarker marker) {

    public BackendSecret {
        Objects.requireNonNull(current, "current must not be null");
        Objects.requireNonNull(marker, "marker must not be null");
    }

    /** Wipes the plaintext of both versions. */
    public void wipe() {
        current.wipe();
        if (previous != null) {
            previous.wipe();
        }
    }
}
