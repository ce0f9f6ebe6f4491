package io.keybroker.identity;

import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import javax.net.ssl.SSLSession;
import org.jspecify.annotations.Nullable;
import org.springframework.core.Ordered;
import org.springframework.http.server.reactive.ServerHttpRequestDecorator;
import org.springframework.http.server.reactive.SslInfo;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;
import reactor.netty.Connection;

/**
 * Puts the caller's {@link WorkloadIdentity}, taken from the client certificate the handshake verified, on the
 * exchange. A request without one gets no attribute, and every handler that reads it refuses the request: fail
 * closed is the default, not something each endpoint must remember.
 *
 * <p>The handshake's verdict is not taken on trust for the life of the connection. The chain is checked again
 * against the {@link ClientTrust} in force whenever that has been reloaded or the chain's earliest
 * {@code notAfter} has passed, so a workload whose CA left the trust bundle, or whose certificate expired, is
 * refused on its next request: over an open keep-alive connection and over a TLS session resumed from a ticket
 * alike, neither of which runs the handshake's trust manager again. The verdict is kept on the TLS session, so
 * the check costs one PKIX validation per session and reload, not one per request.
 */
public final class WorkloadIdentities implements WebFilter, Ordered {

    private static final String IDENTITY = WorkloadIdentities.class.getName() + ".identity";
    private static final String REFUSAL = WorkloadIdentities.class.getName() + ".refusal";
    private static final String CLAIMED = WorkloadIdentities.class.getName() + ".claimed";
    private static final String VERDICT = "io.keybroker.identity.verdict";
    /** How long a refusal is kept before the chain is checked again (its trust may be restored by a reload). */
    private static final Duration REFUSAL_KEPT = Duration.ofSeconds(30);
    private static final int MAX_REASON = 200;

    private final ClientTrust trust;
    private final boolean allowSubjectCn;
    private final Clock clock;

    /** What the last check of a session's chain found, against which trust snapshot, and until when it holds. */
    private record Verdict(ClientTrust.Snapshot trust, Instant validUntil, WorkloadIdentity identity,
            String refusal, String claimed) {
    }

    public WorkloadIdentities(ClientTrust trust, boolean allowSubjectCn, Clock clock) {
        this.trust = trust;
        this.allowSubjectCn = allowSubjectCn;
        this.clock = clock;
    }

    /** The verified identity of the request, if the connection carried one that is still trusted. */
    public static Optional<WorkloadIdentity> from(ServerWebExchange exchange) {
        return Optional.ofNullable(exchange.getAttribute(IDENTITY));
    }

    /**
     * Why a request whose connection presented a certificate carries no identity (the certificate is no longer
     * trusted, or it expired), for the audit record; empty when there is an identity or no certificate at all.
     */
    public static Optional<String> refusal(ServerWebExchange exchange) {
        return Optional.ofNullable(exchange.getAttribute(REFUSAL));
    }

    /**
     * The identity a no-longer-trusted certificate claims (unverified), so its denials are recorded under it
     * and count toward denial alerts; empty when there is none.
     */
    public static Optional<String> claimed(ServerWebExchange exchange) {
        return Optional.ofNullable(exchange.getAttribute(CLAIMED));
    }

    /**
     * For a long-lived response (a watch stream): why the identity the request started with is no longer
     * trusted (its certificate expired, or its CA left the trust bundle), or empty while it still is. Cheap to
     * call often: the verdict is kept on the TLS session until the trust bundle changes or the chain expires.
     */
    public Optional<String> revocation(ServerWebExchange exchange) {
        SslInfo ssl = exchange.getRequest().getSslInfo();
        X509Certificate[] peer = ssl == null ? null : ssl.getPeerCertificates();
        if (peer == null || peer.length == 0) {
            return Optional.of("the connection carries no client certificate");
        }
        Verdict verdict = verdict(session(exchange), peer);
        return verdict.identity() != null ? Optional.empty() : Optional.of(verdict.refusal());
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        SslInfo ssl = exchange.getRequest().getSslInfo();
        X509Certificate[] peer = ssl == null ? null : ssl.getPeerCertificates();
        if (peer != null && peer.length > 0) {
            Verdict verdict = verdict(session(exchange), peer);
            if (verdict.identity() != null) {
                exchange.getAttributes().put(IDENTITY, verdict.identity());
            } else {
                exchange.getAttributes().put(REFUSAL, verdict.refusal());
                if (verdict.claimed() != null) {
                    exchange.getAttributes().put(CLAIMED, verdict.claimed());
                }
            }
        }
        return chain.filter(exchange);
    }

    /**
     * The verified identity of a TLS session's peer chain, with the same re-check against the trust in force as
     * {@link #filter} (and the same verdict kept on the session); empty when the chain is no longer trusted. For
     * the listener's direct reads, which answer before there is an exchange.
     */
    public Optional<WorkloadIdentity> fromSession(SSLSession session, X509Certificate[] peer) {
        if (peer.length == 0) {
            return Optional.empty();
        }
        return Optional.ofNullable(verdict(session, peer).identity());
    }

    private Verdict verdict(@Nullable SSLSession session, X509Certificate[] peer) {
        ClientTrust.Snapshot inForce = trust.current();
        Instant now = clock.instant();
        if (session != null && session.getValue(VERDICT) instanceof Verdict kept && kept.trust() == inForce
                && now.isBefore(kept.validUntil())) {
            return kept;
        }
        Verdict verdict = judge(peer, inForce, now);
        if (session != null) {
            session.putValue(VERDICT, verdict);
        }
        return verdict;
    }

    /**
     * Keeps the verdict of a handshake that has just accepted {@code chain} against {@code checkedAgainst} on its
     * session, so the session's first request does not validate the same chain again (a PKIX validation is a
     * large part of a full handshake's CPU). Later requests re-check as before once the trust in force or the
     * chain's validity moves on.
     */
    public void acceptedAtHandshake(@Nullable SSLSession handshakeSession, X509Certificate[] chain,
            ClientTrust.Snapshot checkedAgainst) {
        if (handshakeSession == null || chain.length == 0) {
            return;
        }
        try {
            handshakeSession.putValue(VERDICT, new Verdict(checkedAgainst, notAfter(chain),
                    SpiffeCertificates.identify(chain, allowSubjectCn), null, null));
        } catch (CertificateException ex) {
            // Not expected (the handshake just accepted it); the first request then judges the chain itself.
        }
    }

    private static Instant notAfter(X509Certificate[] chain) {
        Instant until = Instant.MAX;
        for (X509Certificate certificate : chain) {
            Instant notAfter = certificate.getNotAfter().toInstant();
            until = notAfter.isBefore(until) ? notAfter : until;
        }
        return until;
    }

    private Verdict judge(X509Certificate[] peer, ClientTrust.Snapshot inForce, Instant now) {
        try {
            inForce.check(peer);
            WorkloadIdentity identity = SpiffeCertificates.identify(peer, allowSubjectCn);
            return new Verdict(inForce, notAfter(peer), identity, null, null);
        } catch (CertificateException ex) {
            return new Verdict(inForce, now.plus(REFUSAL_KEPT), null, "the client certificate of this TLS session "
                    + "no longer passes the trust check (its CA left the trust bundle, or it expired): "
                    + bounded(ex.getMessage()), SpiffeCertificates.claimed(peer, allowSubjectCn).orElse(null));
        }
    }

    private static String bounded(String message) {
        String text = message == null ? "no reason given" : message.replaceAll("[^\\x20-\\x7e]", "?");
        return text.length() <= MAX_REASON ? text : text.substring(0, MAX_REASON) + "...";
    }

    /** The TLS session under the request, where the verdict is kept; null when the server is not Reactor Netty. */
    private static @Nullable SSLSession session(ServerWebExchange exchange) {
        Object request = ServerHttpRequestDecorator.getNativeRequest(exchange.getRequest());
        if (!(request instanceof Connection connection)) {
            return null;
        }
        Channel channel = connection.channel();
        SslHandler handler = channel.pipeline().get(SslHandler.class);
        if (handler == null && channel.parent() != null) {
            handler = channel.parent().pipeline().get(SslHandler.class);
        }
        return handler == null ? null : handler.engine().getSession();
    }

    @Override
    public int getOrder() {
        return Ordered.HIGHEST_PRECEDENCE;
    }
}
