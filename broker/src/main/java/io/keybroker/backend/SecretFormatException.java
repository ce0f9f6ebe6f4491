package io.keybroker.backend;

/**
 * A secret exists but its stored form cannot be served as configured: a field was asked for and the value is
 * not a JSON object or lacks that field, or the value is binary. The message says which mapping to fix and
 * never quotes the value.
 */
public class SecretFormatException extends RuntimeException {

    public SecretFormatException(String message) {
        super(message);
    }
}
