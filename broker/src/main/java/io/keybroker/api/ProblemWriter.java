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
 */
@Component
public class ProblemWriter {

    private static final MediaType PROBLEM = MediaType.APPLICATION_PROBLEM_JSON;
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
}
