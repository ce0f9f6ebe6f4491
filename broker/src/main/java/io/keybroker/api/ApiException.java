package io.keybroker.api;

import io.keybroker.audit.AccessRecord.Decision;
import java.time.Duration;
import org.springframework.http.HttpStatus;

/**
 * An API error that becomes an RFC 9457 problem document. The detail says what was wrong and what to do; it
 * never carries a secret value, a backend path or a server file path (callers build it from logical names,
 * versions and reasons only).
 *
 * <p>An exception raised through {@link AccessAttempt#refuse} also carries what its audit record says (decision,
 * rule, reason) and which attempt it belongs to; {@link AccessEdge} writes that record, once.
 */
public class ApiException extends RuntimeException {

    private final HttpStatus status;
    private final String title;
    private final Duration retryAfter;
    private Audit audit;

    /** What the audit record of this refusal says. */
    record Audit(AccessAttempt attempt, Decision decision, String rule, String reason) {
    }

    public ApiException(HttpStatus status, String title, String detail) {
        this(status, title, detail, null);
    }

    public ApiException(HttpStatus status, String title, String detail, Duration retryAfter) {
        super(detail, null, false, false);
        this.status = status;
        this.title = title;
        this.retryAfter = retryAfter;
    }

    public HttpStatus status() {
        return status;
    }

    public String title() {
        return title;
    }

    /** For 429 and 503: when to try again, or {@code null}. */
    public Duration retryAfter() {
        return retryAfter;
    }

    ApiException audited(AccessAttempt attempt, Decision decision, String rule, String reason) {
        this.audit = new Audit(attempt, decision, rule, reason);
        return this;
    }

    /** The audit facts of a refusal, or {@code null} when the edge derives them from the status. */
    Audit audit() {
        return audit;
    }

    public static ApiException badRequest(String detail) {
        return new ApiException(HttpStatus.BAD_REQUEST, "Bad request", detail);
    }

    public static ApiException forbidden(String detail) {
        return new ApiException(HttpStatus.FORBIDDEN, "Not granted", detail);
    }

    public static ApiException notFound(String detail) {
        return new ApiException(HttpStatus.NOT_FOUND, "Not found", detail);
    }

    public static ApiException tooManyRequests(String detail, Duration retryAfter) {
        return new ApiException(HttpStatus.TOO_MANY_REQUESTS, "Rate limit exceeded", detail, retryAfter);
    }

    public static ApiException unavailable(String detail, Duration retryAfter) {
        return new ApiException(HttpStatus.SERVICE_UNAVAILABLE, "Backend unavailable", detail, retryAfter);
    }
}
