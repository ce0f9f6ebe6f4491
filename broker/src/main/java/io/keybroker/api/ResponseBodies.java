package io.keybroker.api;

import java.util.Arrays;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

/** Writes a body that may hold plaintext, with the no-store headers, and wipes it once the connection took it. */
final class ResponseBodies {

    private ResponseBodies() {
    }

    static Mono<Void> writeSecretJson(ServerWebExchange exchange, byte[] body, String etag) {
        ServerHttpResponse response = exchange.getResponse();
        response.setStatusCode(HttpStatus.OK);
        HttpHeaders headers = response.getHeaders();
        headers.setContentType(MediaType.APPLICATION_JSON);
        headers.setCacheControl("no-store");
        headers.set("Pragma", "no-cache");
        if (etag != null) {
            headers.setETag("\"" + etag + "\"");
        }
        headers.setContentLength(body.length);
        return response.writeWith(Mono.just(response.bufferFactory().wrap(body)))
                .doFinally(signal -> Arrays.fill(body, (byte) 0));
    }
}
