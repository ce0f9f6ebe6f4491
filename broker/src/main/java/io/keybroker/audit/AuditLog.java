package io.keybroker.audit;

import java.util.Map;

/**
 * The audit trail: one JSON line per access decision and per security event (policy reload, rotation, alert,
 * start and stop), hash-chained so that {@code keybroker audit verify} detects an edited, deleted, reordered or
 * inserted line.
 *
 * <p>Writing is synchronous and fails loudly: when a line cannot be written, {@link #access} throws
 * {@link AuditUnavailableException} and the caller must not serve the secret (no unaudited access).
 */
public interface AuditLog {

    /** Records one access decision. */
    void access(AccessRecord record);

    /**
     * Records a security event.
     * @param type the event type: {@code policy-reload}, {@code rotation}, {@code alert}, {@code lifecycle}, ...
     * @param fields the event's fields; names, versions, counts and reasons only, never a value
     */
    void event(String type, Map<String, ?> fields);
}
