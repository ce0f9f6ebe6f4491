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
 * One request's way through the access checks. Exactly one audit record is written for it whatever the outcome,
 * and it is written in two places only: {@link #allowed} when a controller hands out what it serves, and
 * {@link AccessEdge} for everything else (a refusal raised with {@link #refuse}, any other error, a client that
 * went away, a request that served nothing).
 *
 * <p>A request about several secrets (watch, config) has one attempt per secret ({@link #next()}); they share the
 * request, and the edge records the request only when none of them was recorded.
 */
public final class AccessAttempt {

    /** What the attempts of one request share. */
    private static final class Request {
        final AuditLog audit;
        final List<AccessListener> listeners;
        final String requestId;
        final Instant time;
        final boolean head;
        final long startNanos = System.nanoTime();
        String endpoint;
        int recorded;
        /** The attempt of the secret being worked on; an error without audit facts belongs to it. */
        AccessAttempt current;

        Request(AuditLog audit, List<AccessListener> listeners, String endpoint, String requestId, Instant time,
                boolean head) {
            this.audit = audit;
            this.listeners = listeners;
            this.endpoint = endpoint;
            this.requestId = requestId;
            this.time = time;
            this.head = head;
        }
    }

    private final Request request;
    private WorkloadIdentity identity;
    private String claimedIdentity;
    private SecretName name;
    private List<Stage> stages = List.of();
    private String rule;
    private boolean admitted;
    private boolean recorded;

    AccessAttempt(AuditLog audit, List<AccessListener> listeners, String endpoint, String requestId, Instant time,
            boolean head) {
        this.request = new Request(audit, listeners, endpoint, requestId, time, head);
        this.request.current = this;
    }

    private AccessAttempt(Request request) {
        this.request = request;
    }

    /** A new attempt for another secret of the same request: same caller, same request id, own audit record. */
    public AccessAttempt next() {
        AccessAttempt next = new AccessAttempt(request);
        next.identity = identity;
        next.admitted = admitted;
        request.current = next;
        return next;
    }

    public String requestId() {
        return request.requestId;
    }

    public String endpoint() {
        return request.endpoint;
    }

    public WorkloadIdentity identity() {
        return identity;
    }

    public SecretName name() {
        return name;
    }

    void endpoint(String endpoint) {
        request.endpoint = endpoint;
    }

    void identity(WorkloadIdentity identity) {
        this.identity = identity;
    }

    /** The identity an untrusted certificate claims: recorded on its denial so it counts toward alerts. */
    void claimedIdentity(String claimed) {
        this.claimedIdentity = claimed;
    }

    /** Marks that the identity and rate-limit checks passed; {@link AccessEdge} refuses to serve otherwise. */
    void admitted() {
        this.admitted = true;
    }

    boolean isAdmitted() {
        return admitted;
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

    /** The attempt of the secret this request worked on last (this one for a one-secret request). */
    AccessAttempt current() {
        return request.current;
    }

    /** Whether any attempt of this request has been recorded. */
    boolean requestRecorded() {
        return request.recorded > 0;
    }

    /**
     * Marks {@code answer} as this attempt's refusal; {@link AccessEdge} records it when it answers, so a refusal
     * is recorded once even if a caller catches and rethrows it.
     */
    public ApiException refuse(Decision decision, String rule, String reason, ApiException answer) {
        return answer.audited(this, decision, rule, reason);
    }

    /**
     * Records an allowed access with the versions served and where they came from. Call it with exactly what
     * the response hands out, right before writing it: a HEAD request is recorded with no version, because it
     * receives none.
     */
    public void allowed(Map<String, String> versions, String source, List<Stage> served) {
        this.stages = List.copyOf(served);
        if (request.head) {
            record(Decision.ALLOW, rule, "granted; HEAD, so no value was sent", Map.of(), source);
        } else {
            record(Decision.ALLOW, rule, "granted", versions, source);
        }
    }

    /**
     * Records an allowed access decided outside {@link AccessControl#authorize} (a webhook verification, decided by
     * the workload's stripe section), with the rule that allowed it.
     */
    public void allowed(String rule, Map<String, String> versions, String source, List<Stage> served) {
        this.rule = rule;
        allowed(versions, source, served);
    }

    /**
     * Marks the request as recorded by its own kind of record (a Stripe call writes one {@code stripe-call}
     * record for whatever ends it), so the edge adds no access record of its own.
     */
    public void recordedElsewhere() {
        if (!recorded) {
            recorded = true;
            request.recorded++;
        }
    }

    /** Records the outcome the edge decided. Does nothing when this attempt is already recorded. */
    void record(Decision decision, String rule, String reason, Map<String, String> versions, String source) {
        if (recorded) {
            return;
        }
        recorded = true;
        request.recorded++;
        long micros = (System.nanoTime() - request.startNanos) / 1000;
        String who = identity != null ? identity.text() : claimedIdentity;
        AccessRecord record = new AccessRecord(request.time, request.requestId, request.endpoint, who,
                name == null ? null : name.value(), stages.stream().map(Stage::id).toList(), decision, rule, reason,
                versions, source, micros);
        request.audit.access(record);
        for (AccessListener listener : request.listeners) {
            listener.onAccess(record);
        }
    }
}
