package io.keybroker.api;

import java.util.UUID;
import java.util.regex.Pattern;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * Gives every request an id: the client's {@code X-Request-Id} when it is a plausible id, else a new UUID. The
 * id is echoed in the response header (errors included) and recorded in the audit trail, so a client log line
 * and an audit line can be matched.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 10)
public class RequestIds implements WebFilter {

    public static final String HEADER = "X-Request-Id";
    private static final String ATTRIBUTE = RequestIds.class.getName();
    // Bounded and printable: the id ends up in audit lines and headers, so free text is not accepted.
    private static final Pattern ACCEPTED = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        String id = idFor(exchange.getRequest().getHeaders().getFirst(HEADER));
        exchange.getAttributes().put(ATTRIBUTE, id);
        exchange.getResponse().getHeaders().set(HEADER, id);
        return chain.filter(exchange);
    }

    /** The id of a request that sent {@code sent} as its X-Request-Id (or none): it, if plausible, else a new one. */
    static String idFor(String sent) {
        return sent != null && ACCEPTED.matcher(sent).matches() ? sent : UUID.randomUUID().toString();
    }

    /** The request's id; generates one if the filter did not run (never null). */
    public static String of(ServerWebExchange exchange) {
        Object id = exchange.getAttribute(ATTRIBUTE);
        if (id == null) {
            id = UUID.randomUUID().toString();
            exchange.getAttributes().put(ATTRIBUTE, id);
            exchange.getResponse().getHeaders().set(HEADER, (String) id);
        }
        return (String) id;
    }
}
