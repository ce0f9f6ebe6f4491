package io.keybroker.api;

import io.keybroker.cache.SecretCipher;
import io.keybroker.identity.WorkloadIdentities;
import io.keybroker.identity.WorkloadIdentity;
import io.keybroker.secret.InvalidSecretNameException;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslHandler;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Component;

/**
 * The common case of the hottest routes, answered by the listener itself ({@code keybroker.listen.direct-reads}):
 * a {@code GET /v1/secrets/{name}}, or the AWS agent's plain {@code GET /secretsmanager/get?secretId=ID} (no other
 * parameter, an ID of letters, digits and {@code / _ . -}, resolved by the same {@link AgentSecretIds} as
 * {@link AgentController}), by a verified workload the policy grants, of a secret the cache holds. The
 * listener's per-connection handler offers it each request before Reactor Netty and WebFlux see it; a request
 * answered here costs about half the broker CPU of the full path (docs/performance.md), because it skips
 * WebFlux's dispatch, filters and reactive plumbing, not any check.
 *
 * <p>It runs the same checks with the same code: the identity from the connection's TLS session with the trust
 * re-check of {@link WorkloadIdentities}, the one name parser, the policy decision of
 * {@link AccessControl#grants}, the cache's memory ({@link SecretReader#readIfCached}), the rate limit
 * ({@link AccessControl#admit}), the body of {@link SecretsController#body} or {@link AgentController#body} and
 * its one audit record
 * ({@link SecretReader.Served#recordAllowed}), written before the response leaves.
 *
 * <p>Everything else is left alone, untouched and unanswered, for the full path to answer exactly as it always
 * has: other methods and routes, a query, an escape or a matrix parameter in the path, a body (a GET with
 * {@code Content-Length: 0}, as Java's HTTP client sends it, has none), an unverified or
 * no longer trusted certificate, an invalid name, a denial, a cache miss, an absence, a failure, nothing inside the
 * grace window, a workload over its rate limit, an audit trail that cannot be written. Nothing is decided twice:
 * a request is left before anything is recorded, and before its permit is taken except when a cached value does
 * not decrypt or the audit write fails (faults of the broker, answered by the full path with 500 or 503). The rate
 * limit is taken after the cache lookup, where the full path takes it first (a lookup in memory changes nothing a
 * caller can see, and a permit taken for a request then left would be taken twice), but before the value is
 * decrypted, so a workload over its limit never makes the broker decrypt.
 */
@Component
public class DirectSecretRead {

    private static final Set<Stage> ALL_STAGES = EnumSet.allOf(Stage.class);
    private static final String AGENT_PREFIX = "/secretsmanager/get?secretId=";

    private final WorkloadIdentities identities;
    private final AccessControl access;
    private final SecretReader reader;
    private final SecretCipher cipher;
    private final AgentSecretIds secretIds;
    private final Counter answered;

    public DirectSecretRead(WorkloadIdentities identities, AccessControl access, SecretReader reader,
            SecretCipher cipher, AgentSecretIds secretIds, MeterRegistry registry) {
        this.identities = identities;
        this.access = access;
        this.reader = reader;
        this.cipher = cipher;
        this.secretIds = secretIds;
        this.answered = Counter.builder("keybroker.requests.direct")
                .description("Secret reads the listener answered itself (keybroker.listen.direct-reads); every "
                        + "other request took the full path")
                .register(registry);
    }

    /**
     * Answers {@code request} on {@code ctx} and records it, or leaves it untouched. Call it only when no other
     * request of the connection is waiting for its response, so the answer cannot overtake one.
     *
     * @return {@code true} when the response was written (the caller drops the request's content and reads on);
     *     {@code false} when the request must take the full path
     */
    public boolean serve(ChannelHandlerContext ctx, HttpRequest request) {
        if (!plainGet(request)) {
            return false;
        }
        String uri = request.uri();
        if (uri.startsWith(SecretsController.PREFIX)) {
            String raw = v1Name(uri);
            return raw != null && serve(ctx, request, raw, V1);
        }
        if (uri.startsWith(AGENT_PREFIX)) {
            String secretId = agentSecretId(uri);
            if (secretId == null) {
                return false;
            }
            String logical;
            try {
                logical = secretIds.logicalName(secretId);
            } catch (RuntimeException unresolved) {
                return false;
            }
            return serve(ctx, request, logical, AGENT);
        }
        return false;
    }

    /** The two request shapes answered here: what differs between them, all else is one path. */
    private record Shape(String endpoint, Set<Stage> stages) {
    }

    private static final Shape V1 = new Shape("v1", ALL_STAGES);
    /** The agent's form without versionStage or versionId means AWSCURRENT only, as GetSecretValue does. */
    private static final Shape AGENT = new Shape("agent", EnumSet.of(Stage.CURRENT));

    private boolean serve(ChannelHandlerContext ctx, HttpRequest request, String raw, Shape shape) {
        WorkloadIdentity identity = identity(ctx);
        if (identity == null) {
            return false;
        }
        SecretName name;
        try {
            name = SecretName.parse(raw);
        } catch (InvalidSecretNameException ex) {
            return false;
        }
        AccessControl.Grants grants = access.grants(identity, name, shape.stages());
        if (grants.granted().isEmpty()) {
            return false;
        }
        Optional<SecretReader.Served> cached;
        try {
            cached = reader.readIfCached(name, grants.granted());
        } catch (RuntimeException aliasOrOther) {
            // An alias the mappings refuse, say: the full path refuses it and records why.
            return false;
        }
        if (cached.isEmpty() || (shape == AGENT && cached.get().current() == null)) {
            return false;
        }
        SecretReader.Served served = cached.get();
        // A request id as the full path's RequestIds gives it: the client's, if plausible.
        String requestId = RequestIds.idFor(request.headers().get(RequestIds.HEADER));
        AccessAttempt attempt = access.beginDirect(identity, requestId, shape.endpoint());
        // The permit before any decryption: a workload over its rate limit never makes the broker decrypt.
        if (!access.admit(attempt)) {
            return false;
        }
        byte[] body;
        try {
            body = shape == AGENT
                    ? AgentController.body(served, served.current(), "AWSCURRENT", reader.environment(), cipher)
                    : SecretsController.body(served, cipher);
        } catch (RuntimeException undecryptable) {
            // A cache entry that does not decrypt is a fault of the broker; the full path answers and records it.
            return false;
        }
        attempt.name(name);
        attempt.stages(grants.granted(), grants.rule());
        try {
            if (shape == AGENT) {
                served.recordAllowed(attempt, served.current());
            } else {
                served.recordAllowed(attempt, served.current(), served.previous());
            }
        } catch (RuntimeException auditUnavailable) {
            // The full path meets the same trail and answers 503 with its problem document.
            Arrays.fill(body, (byte) 0);
            return false;
        }
        String version = shape == AGENT ? served.current().version() : served.secret().current().version();
        // Counted before the write, so that whoever has the answer also finds it counted.
        answered.increment();
        write(ctx, request, body, version, requestId);
        return true;
    }

    /** A GET of HTTP/1.1 that decoded, without a body. */
    private static boolean plainGet(HttpRequest request) {
        if (!HttpMethod.GET.equals(request.method()) || !HttpVersion.HTTP_1_1.equals(request.protocolVersion())
                || !request.decoderResult().isSuccess()) {
            return false;
        }
        HttpHeaders headers = request.headers();
        // No body: some clients (Java's HttpClient) send Content-Length: 0 with a GET, which is no body either.
        String length = headers.get(HttpHeaderNames.CONTENT_LENGTH);
        return (length == null || length.equals("0")) && !headers.contains(HttpHeaderNames.TRANSFER_ENCODING)
                && !headers.contains(HttpHeaderNames.EXPECT);
    }

    /**
     * The {@code secretId} of {@code GET /secretsmanager/get?secretId=ID} with no other parameter, when ID is a
     * plain name (letters, digits, {@code / _ . -}): no escape, no ARN, nothing two parsers could read apart.
     */
    private static @Nullable String agentSecretId(String uri) {
        String id = uri.substring(AGENT_PREFIX.length());
        if (id.isEmpty() || id.length() > SecretName.MAX_LENGTH) {
            return null;
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' || c == '_'
                    || c == '.' || c == '-')) {
                return null;
            }
        }
        return id;
    }

    /** The raw name of an exact {@code GET /v1/secrets/{name}} without query, escape or matrix part. */
    private static @Nullable String v1Name(String uri) {
        if (uri.length() == SecretsController.PREFIX.length() || uri.indexOf('?') >= 0 || uri.indexOf('#') >= 0
                || uri.indexOf('%') >= 0 || uri.indexOf(';') >= 0) {
            return null;
        }
        return uri.substring(SecretsController.PREFIX.length());
    }

    /** The identity of the connection's verified, still trusted client certificate, or {@code null}. */
    private @Nullable WorkloadIdentity identity(ChannelHandlerContext ctx) {
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        if (ssl == null) {
            return null;
        }
        SSLSession session = ssl.engine().getSession();
        Certificate[] certificates;
        try {
            certificates = session.getPeerCertificates();
        } catch (SSLPeerUnverifiedException ex) {
            return null;
        }
        X509Certificate[] chain = new X509Certificate[certificates.length];
        for (int i = 0; i < certificates.length; i++) {
            if (!(certificates[i] instanceof X509Certificate x509)) {
                return null;
            }
            chain[i] = x509;
        }
        return identities.fromSession(session, chain).orElse(null);
    }

    /** The response of {@link SecretsController}: same status, headers and body; the body is wiped on release. */
    private static void write(ChannelHandlerContext ctx, HttpRequest request, byte[] body, String version,
            String requestId) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                new WipingByteBuf(body));
        response.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE)
                .set(HttpHeaderNames.PRAGMA, HttpHeaderValues.NO_CACHE)
                .set(HttpHeaderNames.ETAG, "\"" + version + "\"")
                .set(RequestIds.HEADER, requestId)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        if (!keepAlive) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        var written = ctx.writeAndFlush(response);
        if (!keepAlive) {
            written.addListener(ChannelFutureListener.CLOSE);
        }
    }
}
