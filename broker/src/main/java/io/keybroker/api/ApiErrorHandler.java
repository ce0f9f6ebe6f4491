package io.keybroker.api;

import io.keybroker.audit.AuditUnavailableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebExceptionHandler;
import reactor.core.publisher.Mono;

/**
 * The one place where errors become HTTP responses. Known errors keep their status and message; anything
 * unexpected becomes a 500 whose detail names the request id only, and is logged by type (never by message,
 * which a library might have filled with request data).
 */
@Component
@Order(-2)
public class ApiErrorHandler implements WebExceptionHandler {

    private static final Logger log = LoggerFactory.getLogger(ApiErrorHandler.class);

    private final ProblemWriter problems;

    public ApiErrorHandler(ProblemWriter problems) {
        this.problems = problems;
    }

    @Override
    public Mono<Void> handle(ServerWebExchange exchange, Throwable ex) {
        return problems.write(exchange, toProblem(exchange, ex));
    }

    private ApiException toProblem(ServerWebExchange exchange, Throwable ex) {
        if (ex instanceof ApiException api) {
            return api;
        }
        if (ex instanceof AuditUnavailableException audit) {
            log.error("refusing request {}: {}", RequestIds.of(exchange), audit.getMessage());
            return ApiException.unavailable("the audit trail cannot be written, so no secret is served; the "
                    + "broker log says why", java.time.Duration.ofSeconds(5));
        }
        if (ex instanceof ResponseStatusException rse) {
            HttpStatus status = HttpStatus.resolve(rse.getStatusCode().value());
            if (status == HttpStatus.NOT_FOUND) {
                return new ApiException(status, "Not found", "no such endpoint; the API is GET /v1/secrets/{name}, "
                        + "GET /v1/watch?name=..., POST /v1/secrets/{name}/refresh, GET /{application}/{profile}, "
                        + "GET /secretsmanager/get?secretId=..., ANY /stripe/{path} and POST "
                        + "/v1/webhooks/stripe/verify?secret=NAME");
            }
            if (status == HttpStatus.METHOD_NOT_ALLOWED) {
                return new ApiException(status, "Method not allowed", "this endpoint does not accept "
                        + exchange.getRequest().getMethod().name());
            }
            if (status != null && status.is4xxClientError()) {
                return new ApiException(status, status.getReasonPhrase(), "the request was not understood: "
                        + status.getReasonPhrase());
            }
        }
        String requestId = RequestIds.of(exchange);
        log.error("request {} failed with {}", requestId, ex.getClass().getName());
        return new ApiException(HttpStatus.INTERNAL_SERVER_ERROR, "Internal error",
                "the broker failed to answer request " + requestId + "; the broker log has the cause");
    }
}
