package io.keybroker.backend;

/**
 * A write lost a race: the secret's current version is no longer the one the write was based on, because another
 * writer (a concurrent rotation, an operator) changed it first. Nothing was written; read the new state and
 * decide again. The message names the path and the versions, never a value.
 */
public class WriteConflictException extends RuntimeException {

    public WriteConflictException(String message) {
        super(message);
    }
}
