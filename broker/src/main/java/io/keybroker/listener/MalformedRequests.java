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
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.netty.Connection;
import reactor.netty.ConnectionObserver;
import reactor.netty.NettyPipeline;
import reactor.netty.http.logging.AbstractHttpMessageLogFactory;
import reactor.netty.http.logging.HttpMessageArgProvider;
import reactor.netty.http.server.HttpServerState;

/**
 * Requests Reactor Netty cannot decode never reach WebFlux, so the edge neither logs nor audits them. Netty
 * answers them itself (400, 414 or 431) and logs a warning built by its {@code HttpMessageLogFactory}: this one
 * escapes every byte outside printable ASCII, so a request line cannot write terminal escapes or fake lines into
 * the log. The server's {@code REQUEST_DECODING_FAILED} state gives each such request its one audit record
 * (decision {@code invalid}, rule {@code malformed-request}) under the identity the connection's TLS handshake
 * established, so a workload sending garbage is as visible in the trail as one sending denied requests.
 */
public final class MalformedRequests extends AbstractHttpMessageLogFactory {

    private static final Logger log = LoggerFactory.getLogger(MalformedRequests.class);
    private static final int MAX_TEXT = 200;
    /** Identities of recent connections; a new connection from the same address replaces its entry. */
    private static final int MAX_REMEMBERED = 4096;

    private final AuditLog audit;
    private final List<AccessListener> listeners;
    private final Clock clock;
    private final boolean allowSubjectCn;
    /** By client address, least recently added first; bounded, guarded by itself. */
    private final Map<SocketAddress, String> identities = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<SocketAddress, String> eldest) {
            return size() > MAX_REMEMBERED;
        }
    };

    /** @param allowSubjectCn whether identities may come from the subject CN, as for requests that decode */
    public MalformedRequests(AuditLog audit, List<AccessListener> listeners, Clock clock, boolean allowSubjectCn) {
        this.audit = audit;
        this.listeners = listeners;
        this.clock = clock;
        this.allowSubjectCn = allowSubjectCn;
    }

    /** What Netty's decode-failure warning says about the request, with control bytes escaped. */
    @Override
    public String common(HttpMessageArgProvider message) {
        Throwable cause = message.decoderResult() == null ? null : message.decoderResult().cause();
        return "undecodable request (method " + escape(message.method()) + ", uri " + escape(message.uri())
                + "): " + (cause == null ? "unknown cause" : escape(cause.getClass().getSimpleName() + ": "
                        + cause.getMessage()));
    }

    /** The connection observer to add to the server: audits each request Netty could not decode. */
    public ConnectionObserver observer() {
        return (Connection connection, ConnectionObserver.State state) -> {
            if (state == HttpServerState.REQUEST_DECODING_FAILED) {
                record(identityOf(connection.channel().remoteAddress()).orElse(null));
            }
        };
    }

    /**
     * For {@code HttpServer.doOnChannelInit}: notes the identity of each connection once its handshake succeeded.
     * Netty reports a decoding failure only after it closed the connection and emptied its pipeline, when the
     * channel it hands over is a stand-in that keeps the addresses and nothing else, so the identity is kept by
     * the client's address (never the TLS session: it holds key material).
     */
    public void onChannelInit(ConnectionObserver observer, Channel channel, SocketAddress remote) {
        ChannelHandler keeper = new ChannelInboundHandlerAdapter() {
            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
                if (evt instanceof SslHandshakeCompletionEvent done && done.isSuccess()) {
                    SslHandler ssl = ctx.pipeline().get(SslHandler.class);
                    SocketAddress address = ctx.channel().remoteAddress();
                    if (ssl != null && address != null) {
                        identity(ssl.engine().getSession()).ifPresent(id -> remember(address, id));
                    }
                }
                super.userEventTriggered(ctx, evt);
            }
        };
        if (channel.pipeline().get(NettyPipeline.SslHandler) != null) {
            channel.pipeline().addAfter(NettyPipeline.SslHandler, "keybroker.malformedRequests", keeper);
        } else {
            channel.pipeline().addFirst("keybroker.malformedRequests", keeper);
        }
    }

    private void remember(SocketAddress address, String identity) {
        synchronized (identities) {
            identities.put(address, identity);
        }
    }

    private Optional<String> identityOf(SocketAddress address) {
        if (address == null) {
            return Optional.empty();
        }
        synchronized (identities) {
            return Optional.ofNullable(identities.remove(address));
        }
    }

    /**
     * The identity of the session's client certificate. The listener requires one and the handshake validated
     * its chain against the trust bundle, so only the identity is left to read from it.
     */
    private Optional<String> identity(SSLSession session) {
        X509Certificate[] chain;
        try {
            Certificate[] peer = session.getPeerCertificates();
            chain = new X509Certificate[peer.length];
            for (int i = 0; i < peer.length; i++) {
                chain[i] = (X509Certificate) peer[i];
            }
        } catch (SSLPeerUnverifiedException | ClassCastException ex) {
            return Optional.empty();
        }
        return SpiffeCertificates.claimed(chain, allowSubjectCn);
    }

    private void record(String identity) {
        try {
            AccessRecord record = new AccessRecord(clock.instant(), UUID.randomUUID().toString(), "http", identity,
                    null,
                    List.of(), Decision.INVALID, "malformed-request",
                    "the request could not be decoded as HTTP (see the broker log)", Map.of(), null, 0);
            audit.access(record);
            listeners.forEach(listener -> listener.onAccess(record));
        } catch (RuntimeException ex) {
            log.error("could not record a malformed request: {}", ex.getClass().getName());
        }
    }

    /** Printable ASCII as is; every other character as {@code \xNN} or {@code \\uNNNN}; long text cut. */
    static String escape(String text) {
        if (text == null) {
            return "-";
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < text.length() && out.length() < MAX_TEXT; i++) {
            char c = text.charAt(i);
            if (c >= 0x20 && c < 0x7f && c != '\\') {
                out.append(c);
            } else if (c == '\\') {
                out.append("\\\\");
            } else if (c < 0x100) {
                out.append(String.format("\\x%02x", (int) c));
            } else {
                out.append(String.format("\\u%04x", (int) c));
            }
        }
        return out.length() >= MAX_TEXT ? out + "..." : out.toString();
    }
}
