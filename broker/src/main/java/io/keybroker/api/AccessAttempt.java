package io.keybroker.api;

import io.keybroker.audit.AccessListener;
import io.keybroker.audit.AccessRecord;
import io.keybroker.audit.AccessRecord.Decision;
import io.keybroker.audit.AuditLog;
import io.keybroker.identity.WorkloadIdentity;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * One request's way through the access checks, collected so that exactly one audit record is written for it
 * whatever the outcome: allowed, denied, invalid, rate-limited, not found or unavailable.
 */
public final class AccessAttempt {

    private final AuditLog audit;
    private final List<AccessListener> listeners;
    private final String endpoint;
    private final String requestId;
    private final Instant time;
    private final long startNanos;
    private WorkloadIdentity identity;
    private SecretName name;
    private List<Stage> stages = List.of();
    private String rule;
    private boolean recorded;

    AccessAttempt(AuditLog audit, List<AccessListener> listeners, String endpoint, String requestId, Instant time) {
        this.audit = audit;
        this.listeners = listeners;
        this.endpoint = endpoint;
        this.requestId = requestId;
        this.time = time;
        this.startNanos = System.nanoTime();
    }

    /** A new attempt for another secret of the same request: same caller, same request id, own audit record. */
    public AccessAttempt next() {
        AccessAttempt next = new AccessAttempt(audit, listeners, endpoint, requestId, time);
        next.identity = identity;
        return next;
    }

    public String requestId() {
        return requestId;
    }

    public String endpoint() {
        return endpoint;
    }

    public WorkloadIdentity identity() {
        return identity;
    }

    public SecretName name() {
        return name;
    }

    void identity(WorkloadIdentity identity) {
        this.identity = identity;
    }

    void name(SecretName name) {
        this.name = name;
    }

    void stages(List<Stage> stages, String rule) {
        this.stages = List.copyOf(stages);
        this.rule = rule;
    }

    public String rule() {
        return rule;
    }

    /** Records a refusal and returns the exception to answer with. */
    public ApiException refuse(Decision decision, String rule, String reason, ApiException answer) {
        record(decision, rule, reason, Map.of(), null);
        return answer;
    }

    /** Records an allowed access with the versions served and where they came from. */
    public void allowed(Map<String, String> versions, String source, List<Stage> served) {
        this.stages = List.copyOf(served);
        record(Decision.ALLOW, rule, "granted", versions, source);
    }

    /**
     * Records an allowed access decided outside {@link AccessControl#authorize} (a webhook verification, decided by
     * the workload's stripe section), with the rule that allowed it.
     */
    public void allowed(String rule, Map<String, String> versions, String source, List<Stage> served) {
        this.rule = rule;
        allowed(versions, source, served);
    }

    private void record(Decision decision, String rule, String reason, Map<String, String> versions,
            String source) {
        if (recorded) {
            return;
        }
        recorded = true;
        long micros = (System.nanoTime() - startNanos) / 1000;
        AccessRecord record = new AccessRecord(time, requestId, endpoint,
                identity == null ? null : identity.text(), name == null ? null : name.value(),
                stages.stream().map(Stage::id).toList(), decision, rule, reason, versions, source, micros);
        audit.access(record);
        for (AccessListener listener : listeners) {
            listener.onAccess(record);
        }
    }
}
