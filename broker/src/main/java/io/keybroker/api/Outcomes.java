package io.keybroker.api;

import io.keybroker.audit.AccessRecord.Decision;
import io.keybroker.audit.AuditUnavailableException;
import io.keybroker.backend.AliasedNameException;
import io.keybroker.backend.BackendUnavailableException;
import io.keybroker.backend.SecretFormatException;
import io.keybroker.cache.SecretUnavailableException;
import io.keybroker.secret.InvalidSecretNameException;
import io.keybroker.secret.SecretName;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ResponseStatusException;

/**
 * The one table from whatever ends a request to what the client gets and what the audit record says. Every
 * endpoint's errors pass through it ({@link AccessEdge}, and {@link ApiErrorHandler} for the rare error outside
 * the filter chain); no controller maps an exception itself.
 *
 * <table>
 *   <caption>Exception to status, problem and audit decision</caption>
 *   <tr><th>thrown</th><th>status</th><th>decision</th></tr>
 *   <tr><td>{@link ApiException} from {@link AccessAttempt#refuse}</td><td>its own</td><td>its own</td></tr>
 *   <tr><td>{@link ApiException} without audit facts</td><td>its own</td><td>by status (below)</td></tr>
 *   <tr><td>{@link InvalidSecretNameException}</td><td>400</td><td>invalid</td></tr>
 *   <tr><td>{@link AliasedNameException}</td><td>403</td><td>deny, rule {@code mapping-alias}</td></tr>
 *   <tr><td>{@link SecretUnavailableException}, {@link BackendUnavailableException}</td><td>503</td>
 *       <td>unavailable</td></tr>
 *   <tr><td>{@link SecretFormatException}</td><td>502</td><td>unavailable</td></tr>
 *   <tr><td>{@link AuditUnavailableException}</td><td>503</td><td>(cannot be recorded)</td></tr>
 *   <tr><td>{@link ResponseStatusException} (no route, wrong method, unreadable request)</td><td>its 4xx</td>
 *       <td>invalid</td></tr>
 *   <tr><td>anything else</td><td>500</td><td>error</td></tr>
 * </table>
 *
 * Details name the logical secret and the request id only. Backend paths, server file paths and exception
 * messages (which libraries fill with request data or paths) go to the log, under the request id.
 */
@Component
public class Outcomes {

    private static final Logger log = LoggerFactory.getLogger(Outcomes.class);

    /**
     * What one request ended with.
     *
     * @param problem what the client gets
     * @param decision the audit decision, matching the status
     * @param rule the deciding rule or a fixed id, may be null
     * @param reason the audit reason
     */
    public record Outcome(ApiException problem, Decision decision, String rule, String reason) {
    }

    public Outcome of(Throwable ex, String requestId, SecretName name) {
        String secret = name == null ? "the secret" : name.value();
        if (ex instanceof ApiException api) {
            ApiException.Audit audit = api.audit();
            return audit != null ? new Outcome(api, audit.decision(), audit.rule(), audit.reason())
                    : new Outcome(api, byStatus(api.status()), null, api.title());
        }
        if (ex instanceof InvalidSecretNameException invalid) {
            return new Outcome(ApiException.badRequest(invalid.getMessage()), Decision.INVALID, null,
                    "invalid secret name");
        }
        if (ex instanceof AliasedNameException alias) {
            log.warn("request {}: refused {}: {}", requestId, alias.name(), alias.getMessage());
            return new Outcome(ApiException.forbidden(alias.name() + " is not served: its backend location belongs "
                    + "to another logical name, and one location is served under one name only. Read it under the "
                    + "name the policy grants; an operator can find both names in the broker log under request "
                    + requestId), Decision.DENY, "mapping-alias", "another logical name owns this backend location: "
                    + alias.owners());
        }
        if (ex instanceof SecretUnavailableException unavailable) {
            log.warn("request {}: {} unavailable: {}", requestId, secret, unavailable.getMessage());
            return new Outcome(ApiException.unavailable(secret + " cannot be read: its backend ("
                    + unavailable.backend() + ") fails and no cached copy is usable; retry after the Retry-After "
                    + "delay. The broker log has the cause under request " + requestId, unavailable.retryAfter()),
                    Decision.UNAVAILABLE, null, "backend unavailable, no usable cached copy");
        }
        if (ex instanceof BackendUnavailableException unavailable) {
            log.warn("request {}: {} unavailable: {}", requestId, secret, unavailable.getMessage());
            return new Outcome(ApiException.unavailable(secret + " cannot be read: its backend ("
                    + unavailable.backend() + ") fails; the broker log has the cause under request " + requestId,
                    Duration.ofSeconds(5)), Decision.UNAVAILABLE, null, "backend unavailable");
        }
        if (ex instanceof SecretFormatException format) {
            log.warn("request {}: {} cannot be served: {}", requestId, secret, format.getMessage());
            return new Outcome(new ApiException(HttpStatus.BAD_GATEWAY, "Unusable secret", secret + " exists but "
                    + "its stored value cannot be served as configured (a mapped field is missing, or the value is "
                    + "not text); an operator finds the mapping to fix in the broker log under request " + requestId),
                    Decision.UNAVAILABLE, null, "stored value cannot be served as configured");
        }
        if (ex instanceof AuditUnavailableException audit) {
            log.error("refusing request {}: {}", requestId, audit.getMessage());
            return new Outcome(ApiException.unavailable("the audit trail cannot be written, so no secret is "
                    + "served; the broker log says why", Duration.ofSeconds(5)), Decision.UNAVAILABLE, null,
                    "audit trail unavailable");
        }
        if (ex instanceof ResponseStatusException rse) {
            HttpStatus status = HttpStatus.resolve(rse.getStatusCode().value());
            if (status == HttpStatus.NOT_FOUND) {
                return new Outcome(new ApiException(status, "Not found", "no such endpoint; the API is GET "
                        + "/v1/secrets/{name}, GET /v1/watch?name=..., POST /v1/secrets/{name}/refresh, GET "
                        + "/{application}/{profile}, GET /secretsmanager/get?secretId=..., ANY /stripe/{path} and "
                        + "POST /v1/webhooks/stripe/verify?secret=NAME"), Decision.INVALID,
                        "no-route", "no such endpoint");
            }
            if (status == HttpStatus.METHOD_NOT_ALLOWED) {
                return new Outcome(new ApiException(status, "Method not allowed", "this endpoint does not accept "
                        + "that method; secrets are read with GET, and refreshed with POST .../refresh"),
                        Decision.INVALID, "no-route", "method not allowed");
            }
            if (status != null && status.is4xxClientError()) {
                return new Outcome(new ApiException(status, status.getReasonPhrase(), "the request was not "
                        + "understood: " + status.getReasonPhrase()), Decision.INVALID, null,
                        "request not understood: " + status.value());
            }
        }
        log.error("request {} failed with {}", requestId, ex.getClass().getName());
        return new Outcome(new ApiException(HttpStatus.INTERNAL_SERVER_ERROR, "Internal error", "the broker failed "
                + "to answer request " + requestId + "; the broker log has the cause"), Decision.ERROR, null,
                "internal error: " + ex.getClass().getSimpleName());
    }

    /** The decision a status means, for answers that carry no audit facts of their own. */
    static Decision byStatus(HttpStatus status) {
        return switch (status) {
            case OK, NO_CONTENT, NOT_MODIFIED -> Decision.ALLOW;
            case FORBIDDEN, UNAUTHORIZED -> Decision.DENY;
            case NOT_FOUND -> Decision.NOT_FOUND;
            case TOO_MANY_REQUESTS -> Decision.RATE_LIMITED;
            case SERVICE_UNAVAILABLE, BAD_GATEWAY, GATEWAY_TIMEOUT -> Decision.UNAVAILABLE;
            default -> status.is4xxClientError() ? Decision.INVALID : Decision.ERROR;
        };
    }
}
