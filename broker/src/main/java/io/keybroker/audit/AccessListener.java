package io.keybroker.audit;

/**
 * Told of every access decision after it has been audited: metrics and alerting (denial bursts, unusual read
 * rates, first reads, stale serving) listen here rather than in the request path of each endpoint.
 * Implementations must be fast and must not throw; they run on the request thread.
 */
public interface AccessListener {

    void onAccess(AccessRecord record);
}
