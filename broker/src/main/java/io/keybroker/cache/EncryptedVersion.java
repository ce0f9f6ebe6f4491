package io.keybroker.cache;

import io.keybroker.backend.BackendLocation;
import java.time.Instant;
import java.util.Arrays;
import java.util.Objects;

/**
 * One version of a secret as the cache holds it: the version id and creation time in the clear, the value only as
 * AES-256-GCM ciphertext under the process key of {@link SecretCipher}. The associated data of the ciphertext is
 * the {@link #location()} and the {@link #version()}, so a ciphertext moved to another entry or relabelled with
 * another version fails authentication instead of decrypting to the wrong secret.
 *
 * <p>Immutable: the arrays are copied in and out. Only {@link SecretCipher#withPlaintext} turns it back into
 * plaintext, and only for the time it takes to write a response.
 */
public final class EncryptedVersion {

    private final BackendLocation location;
    private final String version;
    private final Instant createdAt;
    private final byte[] nonce;
    private final byte[] ciphertext;

    EncryptedVersion(BackendLocation location, String version, Instant createdAt, byte[] nonce, byte[] ciphertext) {
        this.location = Objects.requireNonNull(location, "location must not be null");
        this.version = Objects.requireNonNull(version, "version must not be null");
        this.createdAt = Objects.requireNonNull(createdAt, "createdAt must not be null");
        this.nonce = Objects.requireNonNull(nonce, "nonce must not be null").clone();
        this.ciphertext = Objects.requireNonNull(ciphertext, "ciphertext must not be null").clone();
    }

    /** The location whose entry this version belongs to (part of the ciphertext's associated data). */
    public BackendLocation location() {
        return location;
    }

    /** The backend's version id (part of the ciphertext's associated data). */
    public String version() {
        return version;
    }

    /** When the backend created this version; the grace window of the previous version counts from it. */
    public Instant createdAt() {
        return createdAt;
    }

    /** A copy of the 12-byte GCM nonce. */
    public byte[] nonce() {
        return nonce.clone();
    }

    /** A copy of the ciphertext including the 16-byte GCM tag. */
    public byte[] ciphertext() {
        return ciphertext.clone();
    }

    /** The length of the plaintext, without decrypting. */
    public int valueLength() {
        return ciphertext.length - SecretCipher.TAG_BYTES;
    }

    // The cipher reads the arrays without copying them.
    byte[] nonceArray() {
        return nonce;
    }

    byte[] ciphertextArray() {
        return ciphertext;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof EncryptedVersion that && location.equals(that.location)
                && version.equals(that.version) && createdAt.equals(that.createdAt)
                && Arrays.equals(nonce, that.nonce) && Arrays.equals(ciphertext, that.ciphertext);
    }

    @Override
    public int hashCode() {
        return Objects.hash(location, version, createdAt, Arrays.hashCode(nonce));
    }

    @Override
    public String toString() {
        return "EncryptedVersion[" + location + ", version=" + version + ", createdAt=" + createdAt + ", "
                + valueLength() + " bytes encrypted]";
    }
}
