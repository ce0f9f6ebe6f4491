package io.keybroker.api;

import io.keybroker.audit.AccessListener;
import io.keybroker.audit.AccessRecord.Decision;
import io.keybroker.audit.AuditLog;
import io.keybroker.identity.WorkloadIdentities;
import io.keybroker.identity.WorkloadIdentity;
import io.keybroker.policy.PolicyDecision;
import io.keybroker.policy.PolicySet;
import io.keybroker.policy.PolicyStore;
import io.keybroker.policy.RateLimiter;
import io.keybroker.secret.InvalidSecretNameException;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;

/**
 * The checks every endpoint runs, in one order, so no endpoint can skip one: the verified identity (fail closed
 * when there is none), the workload's rate limit, the one name parser, then the policy decision per stage. Each
 * refusal is audited before it is answered.
 */
@Component
public class AccessControl {

    private final PolicyStore policies;
    private final RateLimiter rateLimiter;
    private final AuditLog audit;
    private final List<AccessListener> listeners;
    private final Clock clock;

    public AccessControl(PolicyStore policies, RateLimiter rateLimiter, AuditLog audit,
            List<AccessListener> listeners, Clock clock) {
        this.policies = policies;
        this.rateLimiter = rateLimiter;
        this.audit = audit;
        this.listeners = List.copyOf(listeners);
        this.clock = clock;
    }

    /**
     * Starts an attempt: identifies the caller and applies its rate limit.
     * @throws ApiException 403 without a verified identity, 429 over the rate limit (both audited)
     */
    public AccessAttempt begin(ServerWebExchange exchange, String endpoint) {
        AccessAttempt attempt = AccessEdge.attempt(exchange, audit, listeners, clock);
        attempt.endpoint(endpoint);
        WorkloadIdentity identity = WorkloadIdentities.from(exchange).orElse(null);
        if (identity == null) {
            String untrusted = WorkloadIdentities.refusal(exchange).orElse(null);
            if (untrusted != null) {
                WorkloadIdentities.claimed(exchange).ifPresent(attempt::claimedIdentity);
                throw attempt.refuse(Decision.DENY, "untrusted-certificate", untrusted,
                        ApiException.forbidden("the client certificate of this connection is no longer trusted (its "
                                + "CA left the broker's trust bundle, or it expired); reconnect with a current "
                                + "certificate issued by the trusted CA"));
            }
            throw attempt.refuse(Decision.DENY, "no-identity", "no verified workload identity on the connection",
                    ApiException.forbidden("the connection carries no verified workload identity; present a client "
                            + "certificate with one SPIFFE ID issued by the trusted CA"));
        }
        attempt.identity(identity);
        if (!rateLimiter.tryAcquire(identity)) {
            throw attempt.refuse(Decision.RATE_LIMITED, "rate-limit", "over the workload's rate limit",
                    ApiException.tooManyRequests(identity.text() + (rateLimiter.unknown(identity)
                            ? " has no policy entry and is over the rate limit of unknown identities; slow down, and "
                                    + "ask the security team for a policy entry if it should read secrets"
                            : " is over the rate limit its policy sets; slow down or ask the security team to raise "
                                    + "rateLimit"), rateLimiter.retryAfter(identity)));
        }
        attempt.admitted();
        return attempt;
    }

    /**
     * Takes {@code permits} more permits of the caller's rate limit, for a request that costs more than the one
     * {@link #begin} took: a watch costs one per name, because each name keeps the backend read for as long as
     * the stream is open.
     * @param cost what the request costs, for the caller's message, e.g. "a watch of 5 names costs 5 requests"
     * @throws ApiException 429 when the limit has fewer left (audited)
     */
    public void charge(AccessAttempt attempt, int permits, String cost) {
        WorkloadIdentity identity = attempt.identity();
        if (!rateLimiter.tryAcquire(identity, permits)) {
            throw attempt.refuse(Decision.RATE_LIMITED, "rate-limit", "over the workload's rate limit: " + cost,
                    ApiException.tooManyRequests(identity.text() + " is over its rate limit: " + cost + " of it; "
                            + "ask for less at once, slow down, or ask the security team to raise rateLimit",
                            rateLimiter.retryAfter(identity)));
        }
    }

    /**
     * Parses a raw name with the one parser.
     * @throws ApiException 400 (audited, without the raw input)
     */
    public SecretName name(AccessAttempt attempt, String raw) {
        try {
            SecretName name = SecretName.parse(raw);
            attempt.name(name);
            return name;
        } catch (InvalidSecretNameException ex) {
            throw attempt.refuse(Decision.INVALID, null, "invalid secret name", ApiException.badRequest(ex.getMessage()));
        }
    }

    /**
     * Decides which of the wanted stages the caller may read, against one policy snapshot.
     * @return the granted stages, in the order asked, never empty
     * @throws ApiException 403 when none is granted (audited); the answer is the same whether or not the secret
     *     exists, because the backend is not asked before the decision
     */
    public List<Stage> authorize(AccessAttempt attempt, SecretName name, Set<Stage> wanted) {
        Grants grants = grants(attempt.identity(), name, wanted);
        if (grants.granted().isEmpty()) {
            PolicyDecision first = grants.first();
            attempt.stages(List.copyOf(wanted), first == null ? PolicyDecision.DEFAULT_DENY : first.rule());
            throw attempt.refuse(Decision.DENY, attempt.rule(), first == null ? "no stage asked for" : first.reason(),
                    ApiException.forbidden(attempt.identity().text() + " is not granted " + name + " ("
                            + wanted.stream().map(Stage::id).sorted().toList() + "); a security engineer can run "
                            + "'keybroker policy explain' to see why"));
        }
        attempt.stages(grants.granted(), grants.rule());
        return grants.granted();
    }

    /**
     * The policy's answer for each wanted stage, against one snapshot.
     *
     * @param granted the granted stages, in the order of {@link Stage}; empty when none is
     * @param rule the rule that granted the first of them, or {@code null}
     * @param first the decision on the first wanted stage (its rule and reason explain a refusal), or {@code null}
     */
    record Grants(List<Stage> granted, @Nullable String rule, @Nullable PolicyDecision first) {
    }

    Grants grants(WorkloadIdentity identity, SecretName name, Set<Stage> wanted) {
        PolicySet policy = policies.current();
        List<Stage> granted = new ArrayList<>(2);
        PolicyDecision first = null;
        String rule = null;
        for (Stage stage : Stage.values()) {
            if (!wanted.contains(stage)) {
                continue;
            }
            PolicyDecision decision = policy.decide(identity, name, stage);
            if (first == null) {
                first = decision;
            }
            if (decision.allowed()) {
                granted.add(stage);
                rule = rule == null ? decision.rule() : rule;
            }
        }
        return new Grants(List.copyOf(granted), rule, first);
    }

    /**
     * An attempt for a request the listener answers itself ({@link DirectSecretRead}), whose identity the listener
     * took from the connection's TLS session with the same trust re-check as {@link WorkloadIdentities}. Not yet
     * admitted: {@link #admit} takes the rate limit's permit.
     */
    AccessAttempt beginDirect(WorkloadIdentity identity, String requestId, String endpoint) {
        AccessAttempt attempt = new AccessAttempt(audit, listeners, endpoint, requestId, clock.instant(), false);
        attempt.identity(identity);
        return attempt;
    }

    /** Takes a permit of the attempt's rate limit and admits it; {@code false} (nothing taken) when over it. */
    boolean admit(AccessAttempt attempt) {
        if (!rateLimiter.tryAcquire(attempt.identity())) {
            return false;
        }
        attempt.admitted();
        return true;
    }

    /**
     * Whether the current policy still grants the caller some stage of {@code name}: a long-lived response
     * (a watch stream) asks again while it runs, so a withdrawn grant reaches it.
     */
    public boolean stillGranted(WorkloadIdentity identity, SecretName name) {
        PolicySet policy = policies.current();
        for (Stage stage : Stage.values()) {
            if (policy.decide(identity, name, stage).allowed()) {
                return true;
            }
        }
        return false;
    }

    /** The current policy snapshot, for endpoints that list what a workload may read. */
    public PolicySet policy() {
        return policies.current();
    }
}
