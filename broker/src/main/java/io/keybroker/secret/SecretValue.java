package io.keybroker.secret;

import java.util.Arrays;

/**
 * Plaintext secret bytes in transit between a backend response and the encrypted cache, or between the cache
 * and a response body.
 *
 * <p>Holds a {@code byte[]}, never a {@code String}, so the bytes can be wiped: call {@link #wipe()} (or use
 * try-with-resources) as soon as the bytes have been encrypted or written. {@link #toString()} never reveals
 * the value, so an accidental log line or exception message carries nothing.
 */
public final class SecretValue implements AutoCloseable {

    private final byte[] bytes;
    private volatile boolean wiped;

    private SecretValue(byte[] bytes) {
        this.bytes = bytes;
    }

    /** Takes ownership of {@code bytes}: the caller must not use or keep the array afterwards. */
    public static SecretValue adopt(byte[] bytes) {
        if (bytes == null) {
            throw new IllegalArgumentException("bytes must not be null");
        }
        return new SecretValue(bytes);
    }

    /** Copies {@code bytes}; the caller remains responsible for wiping its own array. */
    public static SecretValue copyOf(byte[] bytes, int offset, int length) {
        return new SecretValue(Arrays.copyOfRange(bytes, offset, offset + length));
    }

    /** The live array, not a copy: do not keep it beyond the call that needs it. */
    public byte[] bytes() {
        if (wiped) {
            throw new IllegalStateException("secret value was already wiped");
        }
        return bytes;
    }

    public int length() {
        return bytes.length;
    }

    public boolean isWiped() {
        return wiped;
    }

    /** Overwrites the bytes with zeros. Idempotent. */
    public void wipe() {
        Arrays.fill(bytes, (byte) 0);
        wiped = true;
    }

    @Override
    public void close() {
        wipe();
    }

    @Override
    public String toString() {
        return "SecretValue[redacted, " + bytes.length + " bytes]";
    }
}
