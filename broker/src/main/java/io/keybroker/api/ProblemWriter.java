package io.keybroker.api;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

/**
 * Writes RFC 9457 {@code application/problem+json} documents, the one error format of every endpoint. The
 * {@code instance} is the request id, not the request path: a path is caller input and is not echoed back.
 *
 * <p>Under the Stripe proxy's {@code /stripe/} prefix the document also carries Stripe's own {@code error} object
 * (an RFC 9457 extension member). The callers there are stock Stripe SDKs, which recognise a failure by that object:
 * stripe-node resolves a 403 without it as if the call had succeeded, and stripe-go takes it for a network error
 * and sends the call again.
 */
@Component
public class ProblemWriter {

    private static final MediaType PROBLEM = MediaType.APPLICATION_PROBLEM_JSON;
    private static final String STRIPE_PREFIX = "/stripe/";
    private final JsonMapper json = JsonMapper.builder().build();

    public Mono<Void> write(ServerWebExchange exchange, ApiException problem) {
        ServerHttpResponse response = exchange.getResponse();
        if (response.isCommitted()) {
            return Mono.empty();
        }
        String requestId = RequestIds.of(exchange);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("type", "https://keybroker.io/problems/" + problem.status().value());
        body.put("title", problem.title());
        body.put("status", problem.status().value());
        body.put("detail", problem.getMessage());
        body.put("instance", "urn:keybroker:request:" + requestId);
        body.put("requestId", requestId);
        if (exchange.getRequest().getPath().pathWithinApplication().value().startsWith(STRIPE_PREFIX)) {
            body.put("error", stripeError(problem));
        }
        byte[] bytes = json.writeValueAsString(body).getBytes(StandardCharsets.UTF_8);
        response.setStatusCode(problem.status());
        HttpHeaders headers = response.getHeaders();
        headers.setContentType(PROBLEM);
        headers.setCacheControl("no-store");
        headers.setContentLength(bytes.length);
        if (problem.retryAfter() != null) {
            headers.set(HttpHeaders.RETRY_AFTER, Long.toString(Math.max(1, problem.retryAfter().toSeconds())));
        }
        return response.writeWith(Mono.just(response.bufferFactory().wrap(bytes)));
    }

    /**
     * Stripe's error shape: {@code type} picks the SDK's exception class (a 5xx is {@code api_error}, anything else
     * {@code invalid_request_error}; the SDKs map 403 and 429 by status on top), {@code code} says the broker, not
     * Stripe, refused.
     */
    private static Map<String, Object> stripeError(ApiException problem) {
        boolean serverSide = problem.status().is5xxServerError();
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("type", serverSide ? "api_error" : "invalid_request_error");
        error.put("code", serverSide ? "keybroker_unavailable" : "keybroker_refused");
        error.put("message", "Keybroker: " + problem.getMessage());
        return error;
    }
}
