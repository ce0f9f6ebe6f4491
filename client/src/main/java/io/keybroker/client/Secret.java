package io.keybroker.client;

import java.time.Instant;
import java.util.Optional;

/**
 * A secret as the broker served it: the current version and, during a rotation's grace window, the previous
 * one. {@link #toString()} never shows a value.
 *
 * @param name the logical name
 * @param current the current version, if the policy grants it
 * @param previous the previous version, if granted and inside its grace window
 * @param rotatedAt when the broker first saw the current version
 */
public record Secret(String name, Optional<Version> current, Optional<Version> previous, Instant rotatedAt) {

    /**
     * One version. The value is held as bytes; {@link #value()} returns a copy the caller should wipe
     * ({@code Arrays.fill(bytes, (byte) 0)}) after use.
     */
    public static final class Version {
        private final String version;
        private final byte[] value;
        private final Instant createdAt;

        Version(String version, byte[] value, Instant createdAt) {
            this.version = version;
            this.value = value;
            this.createdAt = createdAt;
        }

        public String version() {
            return version;
        }

        public Instant createdAt() {
            return createdAt;
        }

        /** A copy of the value's UTF-8 bytes. */
        public byte[] value() {
            return value.clone();
        }

        /**
         * The value as a String, for APIs that only take one (most HTTP clients' header setters). A String cannot
         * be wiped: call this at the last moment and do not keep the result.
         */
        public String valueAsString() {
            return new String(value, java.nio.charset.StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return "Version[" + version + ", createdAt=" + createdAt + ", value=redacted]";
        }
    }
}
