package io.keybroker.alert;

import java.time.Instant;
import java.util.Objects;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * One alert. Names, identities and counts only, never a value.
 *
 * @param id unique id (for webhook receivers to drop duplicates after a retry)
 * @param kind {@code denial-burst}, {@code unusual-rate}, {@code first-read}, {@code stale-served},
 *     {@code certificate-expiry}, {@code rotation}, {@code rotation-failed}
 * @param time when it was raised
 * @param identity the workload concerned, or {@code null}
 * @param secret the secret concerned, or {@code null}
 * @param detail a human-readable explanation
 */
public record Alert(String id, String kind, Instant time, @Nullable String identity, @Nullable String secret, String detail) {

    public Alert {
        Objects.requireNonNull(kind, "kind must not be null");
        Objects.requireNonNull(time, "time must not be null");
    }

    public static Alert of(String kind, Instant time, @Nullable String identity, @Nullable String secret, String detail) {
        return new Alert(UUID.randomUUID().toString(), kind, time, identity, secret, detail);
    }
}
