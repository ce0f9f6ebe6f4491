package io.keybroker.api;

import io.keybroker.audit.AccessListener;
import io.keybroker.audit.AuditLog;
import io.keybroker.audit.AuditUnavailableException;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebExceptionHandler;
import reactor.core.publisher.Mono;

/**
 * The backstop for an error that escapes {@link AccessEdge} (one raised by a filter that runs before it): the
 * same table ({@link Outcomes}), the same one audit record, the same problem document.
 */
@Component
@Order(-2)
public class ApiErrorHandler implements WebExceptionHandler {

    private final ProblemWriter problems;
    private final Outcomes outcomes;
    private final AuditLog audit;
    private final List<AccessListener> listeners;
    private final Clock clock;

    public ApiErrorHandler(ProblemWriter problems, Outcomes outcomes, AuditLog audit, List<AccessListener> listeners,
            Clock clock) {
        this.problems = problems;
        this.outcomes = outcomes;
        this.audit = audit;
        this.listeners = List.copyOf(listeners);
        this.clock = clock;
    }

    @Override
    public Mono<Void> handle(ServerWebExchange exchange, Throwable ex) {
        AccessAttempt attempt = AccessEdge.attempt(exchange, audit, listeners, clock).current();
        Outcomes.Outcome outcome = outcomes.of(ex, RequestIds.of(exchange), attempt.name());
        if (!attempt.requestRecorded() && !(ex instanceof AuditUnavailableException)) {
            try {
                attempt.record(outcome.decision(), outcome.rule(), outcome.reason(), Map.of(), null);
            } catch (AuditUnavailableException unavailable) {
                outcome = outcomes.of(unavailable, RequestIds.of(exchange), attempt.name());
            }
        }
        return problems.write(exchange, outcome.problem());
    }
}
