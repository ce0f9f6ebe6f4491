package io.keybroker.api;

import io.keybroker.audit.AccessListener;
import io.keybroker.audit.AccessRecord.Decision;
import io.keybroker.audit.AuditLog;
import io.keybroker.audit.AuditUnavailableException;
import io.keybroker.identity.WorkloadIdentities;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * The one edge every API request passes on its way in and out. On the way in it opens the request's
 * {@link AccessAttempt}. On the way out it writes the one audit record of whatever ended the request, unless a
 * controller already recorded what it served: an error (mapped by {@link Outcomes}, and answered as
 * problem+json), a client that went away, or a response that served nothing.
 *
 * <p>It also holds the line for endpoints added later: a successful response from a handler that never passed
 * {@link AccessControl#begin} (identity and rate limit) is turned into a 500 before anything is sent, and
 * recorded as an error.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 20)
public class AccessEdge implements WebFilter {

    private static final Logger log = LoggerFactory.getLogger(AccessEdge.class);
    private static final String ATTRIBUTE = AccessAttempt.class.getName();

    private final AuditLog audit;
    private final List<AccessListener> listeners;
    private final Clock clock;
    private final Outcomes outcomes;
    private final ProblemWriter problems;

    public AccessEdge(AuditLog audit, List<AccessListener> listeners, Clock clock, Outcomes outcomes,
            ProblemWriter problems) {
        this.audit = audit;
        this.listeners = List.copyOf(listeners);
        this.clock = clock;
        this.outcomes = outcomes;
        this.problems = problems;
    }

    /** The request's attempt; one is opened here if the edge did not run (never null). */
    static AccessAttempt attempt(ServerWebExchange exchange, AuditLog audit, List<AccessListener> listeners,
            Clock clock) {
        AccessAttempt attempt = exchange.getAttribute(ATTRIBUTE);
        if (attempt == null) {
            attempt = new AccessAttempt(audit, listeners, "none", RequestIds.of(exchange), clock.instant(),
                    HttpMethod.HEAD.equals(exchange.getRequest().getMethod()));
            WorkloadIdentities.from(exchange).ifPresent(attempt::identity);
            exchange.getAttributes().put(ATTRIBUTE, attempt);
        }
        return attempt;
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        if (exchange.getRequest().getSslInfo() == null) {
            // The management server (plain HTTP, its own port: health and metrics) shares the filters; the API
            // listener is always TLS (ListenerConfiguration), so only API requests pass the edge.
            return chain.filter(exchange);
        }
        AccessAttempt attempt = attempt(exchange, audit, listeners, clock);
        exchange.getResponse().beforeCommit(() -> {
            HttpStatusCode status = exchange.getResponse().getStatusCode();
            if ((status == null || status.is2xxSuccessful()) && !attempt.isAdmitted()) {
                return Mono.error(new IllegalStateException("a handler answered without the access check "
                        + "(AccessControl.begin); refusing to send it"));
            }
            // Written before the response leaves, so a client that reads the trail after its answer finds it.
            completed(exchange, attempt);
            return Mono.empty();
        });
        return chain.filter(exchange)
                .onErrorResume(ex -> answer(exchange, attempt, ex))
                .then(Mono.<Void>fromRunnable(() -> completed(exchange, attempt)))
                .doOnCancel(() -> {
                    if (!attempt.requestRecorded()) {
                        record(attempt, Decision.CANCELLED, null, "the client closed the connection before an "
                                + "answer was sent");
                    }
                });
    }

    private Mono<Void> answer(ServerWebExchange exchange, AccessAttempt attempt, Throwable ex) {
        ApiException.Audit facts = ex instanceof ApiException api ? api.audit() : null;
        AccessAttempt target = facts != null ? facts.attempt() : attempt.current();
        Outcomes.Outcome outcome = outcomes.of(ex, RequestIds.of(exchange), target.name());
        if (!(ex instanceof AuditUnavailableException)) {
            try {
                record(target, outcome.decision(), outcome.rule(), outcome.reason());
            } catch (AuditUnavailableException unavailable) {
                outcome = outcomes.of(unavailable, RequestIds.of(exchange), target.name());
            }
        }
        if (exchange.getResponse().isCommitted()) {
            // A stream that failed after its first bytes: the status is gone; end it, the record says why.
            log.warn("request {} failed after the response started: {}", RequestIds.of(exchange),
                    ex.getClass().getName());
            return Mono.empty();
        }
        return problems.write(exchange, outcome.problem());
    }

    /** A request that ended without an error and without a record: record what its status says. */
    private void completed(ServerWebExchange exchange, AccessAttempt attempt) {
        if (attempt.requestRecorded()) {
            return;
        }
        HttpStatusCode code = exchange.getResponse().getStatusCode();
        HttpStatus status = code == null ? HttpStatus.OK : HttpStatus.resolve(code.value());
        Decision decision = status == null ? Decision.ERROR : Outcomes.byStatus(status);
        record(attempt, decision, null, decision == Decision.ALLOW ? "granted; nothing to serve"
                : "answered " + (status == null ? code.value() : status.value()));
    }

    private static void record(AccessAttempt attempt, Decision decision, String rule, String reason) {
        attempt.record(decision, rule, reason, Map.of(), null);
    }
}
