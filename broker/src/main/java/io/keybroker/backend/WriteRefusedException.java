package io.keybroker.backend;

/**
 * The backend will not take this write at all, whatever the state of the store: a read-only backend, a mapping
 * whose location cannot be written as a whole, a request that does not fit the store. The message says what to do
 * instead; it never carries a value.
 */
public class WriteRefusedException extends RuntimeException {

    public WriteRefusedException(String message) {
        super(message);
    }
}
