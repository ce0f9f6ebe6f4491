package io.keybroker.audit;

/** The audit trail cannot be written; the request is refused rather than served unaudited. */
public class AuditUnavailableException extends RuntimeException {

    public AuditUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
