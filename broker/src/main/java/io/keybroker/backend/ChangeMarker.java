package io.keybroker.backend;

import java.util.Objects;

/**
 * A cheap, opaque description of a secret's version state (Vault KV metadata {@code current_version} and the
 * live versions, the AWS stage map, a digest of the file entry). Two equal markers mean nothing changed, so
 * rotation polls markers and reads data only when the marker moves. A marker never contains a value.
 */
public record ChangeMarker(String value) {

    public ChangeMarker {
        Objects.requireNonNull(value, "value must not be null");
    }
}
