package io.keybroker.listener;

import io.keybroker.audit.AccessListener;
import io.keybroker.audit.AccessRecord;
import io.keybroker.audit.AccessRecord.Decision;
import io.keybroker.audit.AuditLog;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.netty.Connection;
import reactor.netty.ConnectionObserver;
import reactor.netty.http.logging.AbstractHttpMessageLogFactory;
import reactor.netty.http.logging.HttpMessageArgProvider;
import reactor.netty.http.server.HttpServerState;

/**
 * Requests Reactor Netty cannot decode never reach WebFlux, so the edge neither logs nor audits them. Netty
 * answers them itself (400, 414 or 431) and logs a warning built by its {@code HttpMessageLogFactory}: this one
 * escapes every byte outside printable ASCII, so a request line cannot write terminal escapes or fake lines into
 * the log. The server's {@code REQUEST_DECODING_FAILED} state gives each such request its one audit record
 * (decision {@code invalid}, rule {@code malformed-request}).
 */
public final class MalformedRequests extends AbstractHttpMessageLogFactory {

    private static final Logger log = LoggerFactory.getLogger(MalformedRequests.class);
    private static final int MAX_TEXT = 200;

    private final AuditLog audit;
    private final List<AccessListener> listeners;
    private final Clock clock;

    public MalformedRequests(AuditLog audit, List<AccessListener> listeners, Clock clock) {
        this.audit = audit;
        this.listeners = listeners;
        this.clock = clock;
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
                record();
            }
        };
    }

    private void record() {
        try {
            AccessRecord record = new AccessRecord(clock.instant(), UUID.randomUUID().toString(), "http", null, null,
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
