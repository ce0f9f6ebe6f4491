package io.keybroker.backend;

/**
 * The backend could not answer: unreachable, timed out, refused the credentials, throttled after retries.
 * Maps to 503 with {@code Retry-After} when no usable cached copy exists. The message names the backend, the
 * path and what to check; it never carries a value.
 */
public class BackendUnavailableException extends RuntimeException {

    private final String backend;

    public BackendUnavailableException(String backend, String message) {
        super(message);
        this.backend = backend;
    }

    public BackendUnavailableException(String backend, String message, Throwable cause) {
        super(message, cause);
        this.backend = backend;
    }

    public String backend() {
        return backend;
    }
}
