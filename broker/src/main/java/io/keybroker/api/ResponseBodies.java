package io.keybroker.api;

import java.util.Arrays;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.NettyDataBufferFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

/** Writes a body that may hold plaintext, with the no-store headers; the body is wiped when Netty releases it. */
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
        if (response.bufferFactory() instanceof NettyDataBufferFactory netty) {
            return response.writeWith(Mono.just(netty.wrap(new WipingByteBuf(body))));
        }
        // Not on Netty (never in the broker): copy, and wipe our array at once.
        DataBuffer copy = response.bufferFactory().allocateBuffer(body.length).write(body);
        Arrays.fill(body, (byte) 0);
        return response.writeWith(Mono.just(copy));
    }
}
