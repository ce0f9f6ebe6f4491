package io.keybroker.listener;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The mTLS listener ({@code keybroker.listen.*}). The limits keep one slow or greedy client from holding the
 * sidecar's resources: a connection that sends nothing, a request sent by halves, or many connections at once.
 *
 * @param address the address to bind; loopback by default so only the pod's own containers can connect
 * @param port the HTTPS port
 * @param idleTimeout how long a connection may stay open between requests (keep-alive) before it is closed
 * @param readTimeout how long a request may take to arrive in full once started (its head, and its body), and
 *     how long a new connection may take to send its first request; a half-sent request is closed after it
 * @param maxConnections the most connections open at once; one more is closed as soon as it is accepted, and
 *     counted in {@code keybroker_connections_refused_total}
 * @param overloadLag how late the listener's event loop may run before new requests are answered 503 with
 *     {@code Retry-After} instead of being queued behind the backlog ({@code 0} turns shedding off)
 * @param directReads whether the listener answers the common case of {@code GET /v1/secrets/{name}} and of the
 *     AWS agent's plain {@code GET /secretsmanager/get?secretId=ID} (granted, cached) itself, with the same
 *     checks and record, at about half the CPU
 *     ({@code io.keybroker.api.DirectSecretRead}); {@code false} sends every request through WebFlux
 */
@ConfigurationProperties("keybroker.listen")
public record ListenProperties(
        @DefaultValue("127.0.0.1") String address,
        @DefaultValue("8443") int port,
        @DefaultValue("60s") Duration idleTimeout,
        @DefaultValue("10s") Duration readTimeout,
        @DefaultValue("256") int maxConnections,
        @DefaultValue("100ms") Duration overloadLag,
        @DefaultValue("true") boolean directReads) {

    public ListenProperties {
        if (idleTimeout == null || idleTimeout.isNegative() || idleTimeout.isZero()) {
            throw new IllegalArgumentException("keybroker.listen.idle-timeout must be positive, e.g. 60s");
        }
        if (readTimeout == null || readTimeout.isNegative() || readTimeout.isZero()) {
            throw new IllegalArgumentException("keybroker.listen.read-timeout must be positive, e.g. 10s");
        }
        if (overloadLag == null || overloadLag.isNegative()) {
            throw new IllegalArgumentException("keybroker.listen.overload-lag must be 0 (off) or positive, e.g. "
                    + "100ms");
        }
        if (maxConnections < 1) {
            throw new IllegalArgumentException("keybroker.listen.max-connections must be at least 1, e.g. 256");
        }
    }
}
