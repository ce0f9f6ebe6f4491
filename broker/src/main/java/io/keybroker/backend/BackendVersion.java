package io.keybroker.backend;

import io.keybroker.secret.SecretValue;
import java.time.Instant;
import java.util.Objects;

/**
 * One version of a secret as a backend returned it. The value is plaintext: the cache encrypts it and then
 * calls {@link #wipe()}; nothing else keeps a reference.
 *
 * @param version the backend's version id (Vault KV version number, AWS VersionId, file version string)
 * @param createdAt when the backend created this version; the grace window of the previous version counts
 *     from the current version's {@code createdAt}
 * @param value the plaintext bytes
 */
public record BackendVersion(String version, Instant createdAt, SecretValue value) {

    public BackendVersion {
        Objects.requireNonNull(version, "version must not be null");
        Objects.requireNonNull(createdAt, "createdAt must not be null");
        Objects.requireNonNull(value, "value must not be null");
    }

    public void wipe() {
        value.wipe();
    }

    @Override
    public String toString() {
        return "BackendVersion[version=" + version + ", createdAt=" + createdAt + ", value=redacted]";
    }
}
