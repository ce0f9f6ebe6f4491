package io.keybroker.backend.vault;

import io.keybroker.backend.WriteConflictException;

/**
 * A check-and-set write lost (Vault's form of {@link WriteConflictException}): the secret's latest version is no longer the one the writer based its write on,
 * because another writer (a concurrent rotation, an operator) wrote first. Nothing was written; read the new
 * state and decide again. The message names the path and the expected version, never a value.
 */
public class VaultWriteConflictException extends WriteConflictException {

    private final String path;
    private final long expectedVersion;

    public VaultWriteConflictException(String path, long expectedVersion, String message) {
        super(message);
        this.path = path;
        this.expectedVersion = expectedVersion;
    }

    /** The KV data path that was written, e.g. {@code secret/data/prod/stripe/secret-key}. */
    public String path() {
        return path;
    }

    /** The {@code current_version} the write expected (its {@code cas} option). */
    public long expectedVersion() {
        return expectedVersion;
    }
}
