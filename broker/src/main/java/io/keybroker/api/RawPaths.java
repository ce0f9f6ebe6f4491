package io.keybroker.api;

import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * One reading of a request path for every route. Spring's route matcher decodes percent-escapes and sets matrix
 * parameters ({@code ;x}) aside before it matches, while the endpoints take names from the raw path: so
 * {@code /v1/secrets;x/...} or {@code /v%31/secrets/...} reached an endpoint under a route the name parser read
 * differently. No route of the API has a use for either, so a path with a {@code ;} anywhere, or with a
 * {@code %} outside the Stripe proxy's forwarded path, is refused with 400 here, before any route is chosen;
 * what remains reads the same to the matcher and to the name parser. The refusal passes {@link AccessEdge},
 * which audits it ({@code invalid}).
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 21)
public class RawPaths implements WebFilter {

    private static final String STRIPE_PREFIX = "/stripe/";

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        if (exchange.getRequest().getSslInfo() == null) {
            return chain.filter(exchange);
        }
        String problem = problem(exchange.getRequest().getURI().getRawPath());
        return problem == null ? chain.filter(exchange) : Mono.error(ApiException.badRequest(problem));
    }

    /** Why {@code rawPath} is refused, or {@code null} when every route reads it the same way. */
    static String problem(String rawPath) {
        if (rawPath == null || rawPath.isEmpty() || rawPath.charAt(0) != '/') {
            return "the request path must start with '/'";
        }
        if (rawPath.indexOf(';') >= 0) {
            return "the request path contains ';' (a matrix parameter): no Keybroker route takes one; send the "
                    + "path without it";
        }
        if (rawPath.indexOf('%') >= 0 && !rawPath.startsWith(STRIPE_PREFIX)) {
            return "the request path contains a percent-escape: Keybroker paths and secret names are plain "
                    + "ASCII; send them unescaped";
        }
        return null;
    }
}
