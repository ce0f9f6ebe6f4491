package io.keybroker.backend;

import java.util.Objects;

/**
 * A staged version that {@link SecretBackend#promote} made current; the version it replaced is now previous.
 *
 * @param version the new current version's id
 * @param description what was done, for the operator: names versions and the path, never a value
 */
public record PromotedVersion(String version, String description) {

    public PromotedVersion {
        Objects.requireNonNull(version, "version must not be null");
        Objects.requireNonNull(description, "description must not be null");
    }
}
