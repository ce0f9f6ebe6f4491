package io.keybroker.cache;

import java.time.Duration;
import java.util.Objects;

/**
 * The backend could not answer and no cached copy is usable (none, or older than
 * {@code keybroker.cache.ttl + keybroker.cache.max-stale}). Maps to 503 with {@code Retry-After}. The message
 * names the backend, the path and what failed; it never carries a value.
 */
public class SecretUnavailableException extends RuntimeException {

    private final String backend;
    private final Duration retryAfter;

    public SecretUnavailableException(String backend, String message, Duration retryAfter, Throwable cause) {
        super(message, cause);
        this.backend = Objects.requireNonNull(backend, "backend must not be null");
        Objects.requireNonNull(retryAfter, "retryAfter must not be null");
        // Retry-After is whole seconds; never tell a client to retry at once.
        this.retryAfter = retryAfter.compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1) : retryAfter;
    }

    /** The backend id that failed. */
    public String backend() {
        return backend;
    }

    /** When the cache will next ask the backend; at least one second. */
    public Duration retryAfter() {
        return retryAfter;
    }
}
