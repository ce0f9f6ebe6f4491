package io.keybroker.inject;

/** A {@code keybroker.io/*} annotation that cannot be honoured; the message says what to fix. */
public final class InvalidOverrideException extends RuntimeException {

    public InvalidOverrideException(String message) {
        super(message);
    }
}
