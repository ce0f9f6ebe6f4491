package io.keybroker.stripe;

import io.keybroker.api.AccessAttempt;
import io.keybroker.api.AccessControl;
import io.keybroker.api.ApiException;
import io.keybroker.api.SecretReader;
import io.keybroker.audit.AuditLog;
import io.keybroker.backend.BackendLocation;
import io.keybroker.backend.SecretFormatException;
import io.keybroker.cache.CachedSecret;
import io.keybroker.cache.EncryptedVersion;
import io.keybroker.cache.SecretCache;
import io.keybroker.cache.SecretCipher;
import io.keybroker.cache.SecretUnavailableException;
import io.keybroker.policy.PolicyDecision;
import io.keybroker.policy.PolicySet;
import io.keybroker.rotation.RotationProperties;
import io.keybroker.secret.SecretName;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import io.netty.handler.timeout.ReadTimeoutException;
import io.netty.util.AsciiString;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.core.io.buffer.NettyDataBufferFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.Connection;
import reactor.netty.http.client.HttpClientResponse;

/**
 * {@code ANY /stripe/{path}}: forwards a workload's Stripe call to {@code keybroker.stripe.api-base + /path}
 * with {@code Authorization: Bearer} the current value of the workload's {@code stripe.key}, so that the workload
 * never holds the key. A stock Stripe SDK works with its API base set to {@code https://127.0.0.1:8443/stripe} and
 * any placeholder key.
 *
 * <ul>
 *   <li><b>Policy first.</b> A call the workload's {@code stripe.calls} does not cover is answered 403 and never
 *       forwarded; the refusal says which list to edit.</li>
 *   <li><b>Bytes as sent.</b> The raw path, the raw query string and the body (at most 1 MiB, else 413) go out
 *       unchanged, and Stripe's answer (status, headers, body) is streamed back unchanged. Hop-by-hop headers do
 *       not pass either way; the workload's {@code Authorization}, {@code Host} and cookies are dropped.</li>
 *   <li><b>Rotation.</b> On a 401 with the current key, inside the grace window, the call is made once more with
 *       the previous key, for GET, DELETE, or a POST with an {@code Idempotency-Key} only (Stripe replays such a
 *       POST instead of doing it twice; any other POST might have had effects). Then the key is re-read from the
 *       backend, at most once per {@code keybroker.rotation.refresh-min-interval}.</li>
 *   <li><b>The key.</b> Decrypted into a byte array that becomes the header value without a {@link String}, and
 *       wiped when the call ends; the client's buffers are wiped on release.</li>
 *   <li><b>One audit record per call</b> ({@link StripeCallRecord}); a call refused before the policy (no
 *       identity, rate limit) has the usual access record instead.</li>
 * </ul>
 */
@RestController
public class StripeProxyController {

    static final String PREFIX = "/stripe";
    /** Stripe's largest requests (file uploads go to files.stripe.com, not here) are far below this. */
    static final int MAX_BODY_BYTES = 1024 * 1024;

    private static final Logger log = LoggerFactory.getLogger(StripeProxyController.class);
    private static final Pattern PATH = Pattern.compile("(/[A-Za-z0-9_.-]{1,200}){1,16}");
    private static final int MAX_REFRESH_TRACKED = 1_000;
    private static final byte[] BEARER = "Bearer ".getBytes(StandardCharsets.US_ASCII);
    /** RFC 9110 section 7.6.1, plus the non-standard ones still seen. */
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-authenticate",
            "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade");
    /** Never forwarded to Stripe: the broker sets these itself, or they are the workload's own business. */
    private static final Set<String> NOT_FORWARDED = Set.of("authorization", "host", "content-length", "expect",
            "cookie", "forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip");

    private final AccessControl access;
    private final SecretReader reader;
    private final SecretCache cache;
    private final SecretCipher cipher;
    private final StripeHttp http;
    private final AuditLog audit;
    private final StripeMetrics metrics;
    private final Duration gracePeriod;
    private final Duration refreshMinInterval;
    private final Clock clock;
    private final Map<BackendLocation, Instant> lastRefresh = new ConcurrentHashMap<>();

    public StripeProxyController(AccessControl access, SecretReader reader, SecretCache cache, SecretCipher cipher,
            StripeHttp http, AuditLog audit, StripeMetrics metrics, RotationProperties rotation, Clock clock) {
        this.access = access;
        this.reader = reader;
        this.cache = cache;
        this.cipher = cipher;
        this.http = http;
        this.audit = audit;
        this.metrics = metrics;
        this.gracePeriod = rotation.gracePeriod();
        this.refreshMinInterval = rotation.refreshMinInterval();
        this.clock = clock;
    }

    @RequestMapping({PREFIX, PREFIX + "/**"})
    public Mono<Void> proxy(ServerWebExchange exchange) {
        return Mono.defer(() -> {
            // Identity and rate limit, as for every endpoint; their refusals are audited as access records.
            AccessAttempt attempt = access.begin(exchange, "stripe");
            ServerHttpRequest request = exchange.getRequest();
            String method = request.getMethod().name();
            String path = request.getPath().pathWithinApplication().value().substring(PREFIX.length());
            StripeCallRecord record = new StripeCallRecord(audit, metrics, clock.instant(), attempt.requestId(),
                    attempt.identity().text(), method, path);
            // The stripe-call record is this request's one record, whatever ends it.
            attempt.recordedElsewhere();
            if (!PATH.matcher(path).matches() || hasDotSegment(path)) {
                throw refuse(record, "invalid", "invalid Stripe path", ApiException.badRequest("the path after "
                        + "/stripe must be a Stripe API path such as /v1/payment_intents: segments of letters, "
                        + "digits, '_', '-' and '.', no percent-encoding, no '.' or '..' segment"));
            }
            PolicySet policy = access.policy();
            PolicyDecision decision = policy.decideStripeCall(attempt.identity(), method, path);
            record.rule(decision.rule());
            if (!decision.allowed()) {
                throw refuse(record, "deny", decision.reason(), ApiException.forbidden(decision.reason()));
            }
            SecretName keyName = policy.stripeKey(attempt.identity()).orElseThrow();
            record.key(keyName.value());
            long declared = request.getHeaders().getContentLength();
            if (declared > MAX_BODY_BYTES) {
                throw refuse(record, "invalid", "request body over 1 MiB", tooLarge());
            }
            BackendLocation location = reader.locate(keyName).backend();
            return body(request, record)
                    .zipWith(key(location, keyName, record))
                    .flatMap(bodyAndKey -> forward(exchange, record, location, bodyAndKey.getT1(),
                            bodyAndKey.getT2()))
                    .onErrorMap(ex -> !(ex instanceof ApiException), ex -> failed(record, ex))
                    .doOnCancel(() -> record.finish("cancelled", "cancelled", "the workload closed the connection"));
        });
    }

    private static boolean hasDotSegment(String path) {
        return path.contains("/./") || path.contains("/../") || path.endsWith("/.") || path.endsWith("/..");
    }

    private static ApiException tooLarge() {
        return new ApiException(HttpStatus.CONTENT_TOO_LARGE, "Request too large", "the request body is over "
                + "1 MiB, the most the broker forwards to Stripe; upload files to files.stripe.com directly");
    }

    private static ApiException refuse(StripeCallRecord record, String decision, String reason, ApiException answer) {
        record.finish(decision, "deny".equals(decision) ? "denied" : decision, reason);
        return answer;
    }

    /** The request body, at most 1 MiB, as one array (a retry sends it again). */
    private Mono<byte[]> body(ServerHttpRequest request, StripeCallRecord record) {
        return DataBufferUtils.join(request.getBody(), MAX_BODY_BYTES)
                .map(buffer -> {
                    try {
                        byte[] bytes = new byte[buffer.readableByteCount()];
                        buffer.read(bytes);
                        return bytes;
                    } finally {
                        DataBufferUtils.release(buffer);
                    }
                })
                .defaultIfEmpty(new byte[0])
                .onErrorMap(DataBufferLimitException.class, ex -> refuse(record, "invalid",
                        "request body over 1 MiB", tooLarge()));
    }

    /** The key's cache entry: one immutable entry, so current and previous belong together. */
    private Mono<CachedSecret> key(BackendLocation location, SecretName name, StripeCallRecord record) {
        return cache.get(location)
                .switchIfEmpty(Mono.error(() -> refuse(record, "unavailable", "stripe.key has no value",
                        ApiException.unavailable("the Stripe key " + name + " named by this workload's stripe.key "
                                + "has no value in the backend; create it, or fix stripe.key in the policy",
                                Duration.ofSeconds(30)))))
                .onErrorMap(SecretUnavailableException.class, ex -> refuse(record, "unavailable",
                        "backend unavailable, no usable cached copy of the key", ApiException.unavailable(
                                "the Stripe key " + name + " cannot be read from the backend and no usable cached "
                                        + "copy is left; try again later", ex.retryAfter())))
                .onErrorMap(SecretFormatException.class, ex -> refuse(record, "unavailable",
                        "stored key cannot be used as configured", new ApiException(HttpStatus.BAD_GATEWAY,
                                "Unusable secret", "the Stripe key " + name + " is stored in a form the broker "
                                        + "cannot use as configured; check its mapping")))
                .map(hit -> hit.secret());
    }

    private Mono<Void> forward(ServerWebExchange exchange, StripeCallRecord record, BackendLocation location,
            byte[] body, CachedSecret secret) {
        ServerHttpRequest request = exchange.getRequest();
        String method = record.method();
        boolean retryable = method.equals("GET") || method.equals("DELETE")
                || method.equals("POST") && request.getHeaders().containsHeader("Idempotency-Key");
        EncryptedVersion previous = secret.previousWithinGrace(clock.instant(), gracePeriod).orElse(null);
        String query = request.getURI().getRawQuery();
        String uri = http.base() + request.getPath().pathWithinApplication().value().substring(PREFIX.length())
                + (query == null ? "" : "?" + query);
        HttpHeaders incoming = request.getHeaders();
        // Each handler runs while the connection is this call's: Stripe's body is streamed back (or drained)
        // before the handler completes and Reactor Netty takes the connection back into the pool.
        return send(method, uri, incoming, body, secret.current(), first -> {
            if (first.status() == 401) {
                refreshSoon(location);
                if (retryable && previous != null) {
                    // The answer to the current key is dropped; the workload gets the previous key's.
                    return first.discard().thenReturn(Boolean.TRUE);
                }
            }
            return answer(exchange, record, first, "current", secret.current().version()).thenReturn(Boolean.FALSE);
        }).flatMap(retry -> {
            if (!retry) {
                return Mono.empty();
            }
            record.retried();
            return send(method, uri, incoming, body, previous, second -> answer(exchange, record, second,
                    "previous", previous.version()).thenReturn(Boolean.FALSE)).then();
        }).then();
    }

    /** Audits the call with the key that answered, then streams Stripe's answer back. */
    private Mono<Void> answer(ServerWebExchange exchange, StripeCallRecord record, Upstream upstream, String stage,
            String version) {
        record.keyUsed(stage, version);
        record.stripeStatus(upstream.status());
        // Audited before the answer goes back, as every decision is: if the trail cannot be written, the
        // workload gets 503, not Stripe's answer.
        try {
            record.finish("allow", StripeMetrics.statusClass(upstream.status()), "forwarded; Stripe answered "
                    + upstream.status());
        } catch (RuntimeException ex) {
            return upstream.discard().then(Mono.error(ex));
        }
        return writeBack(exchange.getResponse(), upstream);
    }

    /**
     * Stripe's answer, its body not yet read: the connection stays with this call until the body is streamed
     * back or discarded.
     */
    private record Upstream(HttpClientResponse response, Connection connection) {

        int status() {
            return response.status().code();
        }

        Mono<Void> discard() {
            return connection.inbound().receive().then();
        }
    }

    private <T> Mono<T> send(String method, String uri, HttpHeaders incoming, byte[] body, EncryptedVersion key,
            Function<Upstream, Mono<T>> handler) {
        byte[] authorization = cipher.withPlaintext(key, plaintext -> {
            byte[] value = Arrays.copyOf(BEARER, BEARER.length + plaintext.length);
            System.arraycopy(plaintext, 0, value, BEARER.length, plaintext.length);
            return value;
        });
        Set<String> connectionListed = connectionListed(incoming);
        return http.client()
                .request(HttpMethod.valueOf(method))
                .uri(uri)
                .send((req, out) -> {
                    incoming.forEach((name, values) -> {
                        String lower = name.toLowerCase(Locale.ROOT);
                        if (!HOP_BY_HOP.contains(lower) && !NOT_FORWARDED.contains(lower)
                                && !connectionListed.contains(lower)) {
                            req.requestHeaders().add(name, values);
                        }
                    });
                    // No String of the key: the header value shares this array, which is wiped when the call ends.
                    req.requestHeaders().set(HttpHeaderNames.AUTHORIZATION, new AsciiString(authorization, false));
                    if (body.length > 0 || method.equals("POST")) {
                        req.requestHeaders().set(HttpHeaderNames.CONTENT_LENGTH, body.length);
                    }
                    return body.length == 0 ? out : out.sendByteArray(Mono.just(body));
                })
                .responseConnection((response, connection) -> handler.apply(new Upstream(response, connection)))
                .next()
                // The request with the header has long been written once the handler is done (or the call failed).
                .doFinally(signal -> Arrays.fill(authorization, (byte) 0));
    }

    private static Set<String> connectionListed(HttpHeaders headers) {
        Set<String> listed = new HashSet<>();
        for (String value : headers.getOrEmpty(HttpHeaders.CONNECTION)) {
            for (String token : value.split(",")) {
                listed.add(token.strip().toLowerCase(Locale.ROOT));
            }
        }
        return listed;
    }

    private Mono<Void> writeBack(ServerHttpResponse response, Upstream upstream) {
        response.setStatusCode(HttpStatusCode.valueOf(upstream.status()));
        HttpHeaders out = response.getHeaders();
        Set<String> listed = new HashSet<>();
        for (String value : upstream.response().responseHeaders().getAll(HttpHeaderNames.CONNECTION)) {
            for (String token : value.split(",")) {
                listed.add(token.strip().toLowerCase(Locale.ROOT));
            }
        }
        upstream.response().responseHeaders().forEach(entry -> {
            String lower = entry.getKey().toLowerCase(Locale.ROOT);
            if (!HOP_BY_HOP.contains(lower) && !listed.contains(lower)) {
                out.add(entry.getKey(), entry.getValue());
            }
        });
        Flux<ByteBuf> bytes = upstream.connection().inbound().receive().retain();
        if (response.bufferFactory() instanceof NettyDataBufferFactory netty) {
            return response.writeWith(bytes.map(netty::wrap));
        }
        return response.writeWith(bytes.map(buf -> {
            try {
                byte[] copy = new byte[buf.readableBytes()];
                buf.readBytes(copy);
                return (DataBuffer) response.bufferFactory().wrap(copy);
            } finally {
                buf.release();
            }
        }));
    }

    /** After a 401 with the current key the backend may already hold a newer key: re-read it, not too often. */
    private void refreshSoon(BackendLocation location) {
        Instant now = clock.instant();
        Instant last = lastRefresh.get(location);
        if (last != null && now.isBefore(last.plus(refreshMinInterval))) {
            return;
        }
        if (lastRefresh.size() > MAX_REFRESH_TRACKED) {
            lastRefresh.clear();
        }
        lastRefresh.put(location, now);
        cache.refresh(location).subscribe(hit -> { }, ex -> log.warn("re-reading a Stripe key after a 401 "
                + "failed ({}); the cached key stays in use", ex.getClass().getSimpleName()));
    }

    private static boolean isTimeout(Throwable ex) {
        return ex instanceof ReadTimeoutException || ex instanceof ConnectTimeoutException
                || ex instanceof SslHandshakeTimeoutException;
    }

    /** A failure between the broker and Stripe, as the workload sees it: never the exception's message. */
    private static ApiException failed(StripeCallRecord record, Throwable ex) {
        Throwable cause = ex;
        for (Throwable c = ex; c != null; c = c.getCause() == c ? null : c.getCause()) {
            cause = c;
            if (isTimeout(c)) {
                record.finish("timeout", "timeout", "Stripe did not answer in time (" + c.getClass().getSimpleName()
                        + ")");
                return new ApiException(HttpStatus.GATEWAY_TIMEOUT, "Stripe timed out", "Stripe did not answer "
                        + "within the broker's timeout (keybroker.stripe.connect-timeout / response-timeout); the "
                        + "call may or may not have been made: retry it with the same Idempotency-Key");
            }
        }
        String name = ex.getClass().getSimpleName();
        if (name.startsWith("PoolAcquire")) {
            record.finish("unavailable", "unavailable", "no free connection to Stripe (" + name + ")");
            return new ApiException(HttpStatus.SERVICE_UNAVAILABLE, "Too many Stripe calls", "every connection to "
                    + "Stripe is busy (keybroker.stripe.max-connections); try again shortly", Duration.ofSeconds(1));
        }
        record.finish("error", "error", "cannot reach Stripe (" + cause.getClass().getSimpleName() + ")");
        if (!(cause instanceof IOException)) {
            log.warn("Stripe call {} failed with {}", record.method(), cause.getClass().getName());
        }
        return new ApiException(HttpStatus.BAD_GATEWAY, "Cannot reach Stripe", "the broker could not complete the "
                + "call to Stripe (" + cause.getClass().getSimpleName() + "); the call may or may not have been "
                + "made: retry it with the same Idempotency-Key");
    }
}
