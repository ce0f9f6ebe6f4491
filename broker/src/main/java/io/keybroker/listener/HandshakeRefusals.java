package io.keybroker.listener;

import io.keybroker.audit.AccessListener;
import io.keybroker.audit.AccessRecord;
import io.keybroker.audit.AccessRecord.Decision;
import io.keybroker.audit.AuditLog;
import io.keybroker.identity.SpiffeCertificates;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.net.SocketAddress;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.WeakHashMap;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLHandshakeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.netty.ConnectionObserver;
import reactor.netty.NettyPipeline;

/**
 * Leaves a trace of every client certificate the TLS handshake refuses (untrusted CA, expired, not a valid
 * X.509-SVID), which otherwise never reaches HTTP: one audit record (endpoint {@code handshake}, decision
 * {@code deny}, rule {@code handshake-refused}) under the identity the certificate claims, passed to the access
 * listeners like any other, so it counts in {@code keybroker_requests_total} and toward the denial-burst alert.
 *
 * <p>Two pieces meet here: the trust manager notes what it refused and which identity the chain claims
 * ({@link #noted}), and a pipeline handler reports each failed handshake once it is over ({@link #failed}), which
 * also covers a client that presented no certificate at all. Only handshake failures are recorded, not clients
 * that merely connect and go away (port probes), so a TCP health check does not fill the trail.
 */
public final class HandshakeRefusals {

    private static final Logger log = LoggerFactory.getLogger(HandshakeRefusals.class);
    private static final int MAX_REASON = 200;

    private final AuditLog audit;
    private final List<AccessListener> listeners;
    private final Clock clock;
    private final boolean allowSubjectCn;

    public HandshakeRefusals(AuditLog audit, List<AccessListener> listeners, Clock clock, boolean allowSubjectCn) {
        this.audit = audit;
        this.listeners = List.copyOf(listeners);
        this.clock = clock;
        this.allowSubjectCn = allowSubjectCn;
    }

    private record Claim(String identity, String reason) {
    }

    /** What the trust manager refused, by handshake, until the handshake reports its failure. */
    private final Map<SSLEngine, Claim> claims = Collections.synchronizedMap(new WeakHashMap<>());

    /** Called by the trust manager: remembers what this handshake's chain claims and why it was refused. */
    public void noted(SSLEngine engine, X509Certificate[] chain, CertificateException why) {
        if (engine != null) {
            claims.put(engine, new Claim(SpiffeCertificates.claimed(chain, allowSubjectCn).orElse(null),
                    why.getMessage()));
        }
    }

    /**
     * Called when a handshake failed: records it once, under the identity the chain claimed if one was
     * presented. Never throws, so the handshake fails with its own reason whatever happens here.
     */
    public void failed(SSLEngine engine, Throwable cause) {
        Claim claim = engine == null ? null : claims.remove(engine);
        if (claim == null && !(cause instanceof SSLHandshakeException)) {
            return; // closed or timed out before any certificate was judged: a probe, not a refusal
        }
        String why = claim != null ? claim.reason() : cause.getMessage();
        record(claim == null ? null : claim.identity(), why);
    }

    /** For {@code HttpServer.doOnChannelInit}: watches the connection's handshake, right after the TLS handler. */
    public void onChannelInit(ConnectionObserver observer, Channel channel, SocketAddress remote) {
        ChannelHandler watcher = new ChannelInboundHandlerAdapter() {
            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
                if (evt instanceof SslHandshakeCompletionEvent done && !done.isSuccess()) {
                    SslHandler ssl = ctx.pipeline().get(SslHandler.class);
                    failed(ssl == null ? null : ssl.engine(), done.cause());
                }
                super.userEventTriggered(ctx, evt);
            }
        };
        if (channel.pipeline().get(NettyPipeline.SslHandler) != null) {
            channel.pipeline().addAfter(NettyPipeline.SslHandler, "keybroker.handshakeRefusals", watcher);
        } else {
            channel.pipeline().addFirst("keybroker.handshakeRefusals", watcher);
        }
    }

    private void record(String identity, String why) {
        try {
            String reason = why == null ? "certificate refused" : why.replaceAll("[^\\x20-\\x7e]", "?");
            AccessRecord record = new AccessRecord(clock.instant(), UUID.randomUUID().toString(), "handshake",
                    identity, null, List.of(), Decision.DENY,
                    "handshake-refused", "TLS handshake refused: " + (reason.length() > MAX_REASON
                            ? reason.substring(0, MAX_REASON) + "..." : reason), Map.of(), null, 0);
            audit.access(record);
            listeners.forEach(listener -> listener.onAccess(record));
        } catch (RuntimeException ex) {
            log.error("could not record a refused TLS handshake: {}", ex.getClass().getName());
        }
    }
}
