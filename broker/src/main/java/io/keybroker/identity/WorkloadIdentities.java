package io.keybroker.identity;

import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Optional;
import org.springframework.core.Ordered;
import org.springframework.http.server.reactive.SslInfo;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * Puts the caller's {@link WorkloadIdentity}, taken from the client certificate the handshake verified, on the
 * exchange. A request without one gets no attribute, and every handler that reads it refuses the request: fail
 * closed is the default, not something each endpoint must remember.
 */
public final class WorkloadIdentities implements WebFilter, Ordered {

    private static final String ATTRIBUTE = WorkloadIdentities.class.getName();

    private final boolean allowSubjectCn;

    public WorkloadIdentities(boolean allowSubjectCn) {
        this.allowSubjectCn = allowSubjectCn;
    }

    /** The verified identity of the request, if the connection carried one. */
    public static Optional<WorkloadIdentity> from(ServerWebExchange exchange) {
        return Optional.ofNullable(exchange.getAttribute(ATTRIBUTE));
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        SslInfo ssl = exchange.getRequest().getSslInfo();
        X509Certificate[] peer = ssl == null ? null : ssl.getPeerCertificates();
        if (peer != null && peer.length > 0) {
            try {
                exchange.getAttributes().put(ATTRIBUTE, SpiffeCertificates.identify(peer, allowSubjectCn));
            } catch (CertificateException ex) {
                // The handshake already refused such certificates; reaching here means the rules changed in
                // between (a reload), and the request simply carries no identity.
            }
        }
        return chain.filter(exchange);
    }

    @Override
    public int getOrder() {
        return Ordered.HIGHEST_PRECEDENCE;
    }
}
