package io.keybroker.backend;

import java.util.Objects;

/**
 * A new version that {@link SecretBackend#stage} put in place without serving it yet: in AWS a version labelled
 * {@code AWSPENDING}; in Vault KV, which has no pending stage, only the version the write will be based on (the
 * value stays with the caller until {@link SecretBackend#promote}). Holds no value.
 *
 * @param location where it is staged
 * @param version the new version's id when the backend knows it before promotion (AWS), else {@code null}
 * @param replaces the version current when staging, which becomes previous on promotion ({@code "0"} in Vault
 *     when the path was never written)
 * @param alreadyCurrent true when the requested version is current already (a repeated AWS request token):
 *     there is nothing to test or promote
 * @param description what was done, for the operator: names versions and the path, never a value
 */
public record StagedVersion(BackendLocation location, String version, String replaces, boolean alreadyCurrent,
        String description) {

    public StagedVersion {
        Objects.requireNonNull(location, "location must not be null");
        Objects.requireNonNull(replaces, "replaces must not be null");
        Objects.requireNonNull(description, "description must not be null");
    }
}
