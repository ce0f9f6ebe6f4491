package io.keybroker.listener;

import io.keybroker.audit.AccessListener;
import io.keybroker.audit.AccessRecord;
import io.keybroker.audit.AccessRecord.Decision;
import io.keybroker.audit.AuditLog;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sheds load before it turns into timeouts ({@code keybroker.listen.overload-lag}). Each event loop runs a probe
 * every {@link #PERIOD_MILLIS} ms; how late the probe runs is how long a request that arrives now waits before
 * the loop gets to it. While that lag stays over the limit ({@link #LATE_RUNS} runs in a row) and requests keep
 * arriving (at least {@link #MIN_ARRIVALS_PER_SECOND} a second on that loop), a new request is answered at once
 * with 503 and {@code Retry-After}, before any decoding into the application, identity check, cache read or
 * decryption: a refusal costs a fraction of an answer, so the broker keeps up with an arrival rate well above
 * what it can serve, and a client gets a clear answer it can retry instead of a reset or a timeout. Each refusal
 * is one audit record (decision {@code unavailable}, rule {@code overload}) and counted in
 * {@code keybroker_requests_shed_total}.
 */
public final class OverloadGuard {

    static final long PERIOD_MILLIS = 10;
    static final int RETRY_AFTER_SECONDS = 1;
    /** Late probe runs in a row that make a backlog. */
    static final int LATE_RUNS = 3;
    /**
     * A late run counts only if requests arrived on its loop at this rate or more. A loop that is late with fewer
     * is not behind on requests: the process was starved of CPU (a busy node, a cold JVM compiling, a GC pause),
     * and refusing the odd request would not make it faster, only fail a healthy pod's clients. At the broker's
     * cost per request (about 0.5 ms of CPU), 50 a second is a fortieth of one core.
     */
    static final int MIN_ARRIVALS_PER_SECOND = 50;
    private static final Logger log = LoggerFactory.getLogger(OverloadGuard.class);

    private final long limitNanos;
    private final LongSupplier nanoTime;
    private final AuditLog audit;
    private final List<AccessListener> listeners;
    private final Clock clock;
    private final Counter shed;
    private final Map<EventLoop, Probe> probes = new ConcurrentHashMap<>();

    public OverloadGuard(Duration limit, AuditLog audit, List<AccessListener> listeners, Clock clock,
            MeterRegistry registry) {
        this(limit, System::nanoTime, audit, listeners, clock, registry);
    }

    OverloadGuard(Duration limit, LongSupplier nanoTime, AuditLog audit, List<AccessListener> listeners, Clock clock,
            MeterRegistry registry) {
        this.limitNanos = limit.toNanos();
        this.nanoTime = nanoTime;
        this.audit = audit;
        this.listeners = List.copyOf(listeners);
        this.clock = clock;
        this.shed = Counter.builder("keybroker.requests.shed")
                .description("Requests answered 503 with Retry-After because the listener's event loop lagged "
                        + "more than keybroker.listen.overload-lag")
                .register(registry);
    }

    /** Whether shedding is on at all ({@code overload-lag} 0 turns it off). */
    public boolean enabled() {
        return limitNanos > 0;
    }

    /** The probe of {@code loop}, started the first time a connection lands on it. */
    Probe probe(EventLoop loop) {
        return probes.computeIfAbsent(loop, l -> {
            Probe probe = new Probe(nanoTime.getAsLong());
            // Fixed delay, not fixed rate: a late fixed-rate task runs again at once to catch up, and that second
            // run, seeing no lag, would clear the count of the first.
            l.scheduleWithFixedDelay(probe, PERIOD_MILLIS, PERIOD_MILLIS, TimeUnit.MILLISECONDS);
            return probe;
        });
    }

    /** Whether a request read now by the loop of {@code probe} should be refused. */
    boolean overloaded(Probe probe) {
        return limitNanos > 0 && probe.backlogged();
    }

    /**
     * Answers {@code request} with 503 and Retry-After on {@code ctx} (the connection stays open) and writes its
     * one audit record. The request's body, if any, is dropped by the caller.
     */
    void refuse(ChannelHandlerContext ctx, HttpRequest request) {
        String requestId = UUID.randomUUID().toString();
        shed.increment();
        try {
            AccessRecord record = new AccessRecord(clock.instant(), requestId, "http", null, null, List.of(),
                    Decision.UNAVAILABLE, "overload", "refused before decoding: the listener lagged more than "
                            + "keybroker.listen.overload-lag", Map.of(), null, 0);
            audit.access(record);
            listeners.forEach(listener -> listener.onAccess(record));
        } catch (RuntimeException ex) {
            // Fail closed: the answer is a refusal either way, and the audit trail's own failure is reported
            // by its health check and alert.
            log.error("could not record a shed request: {}", ex.getClass().getName());
        }
        boolean stripe = request.uri().startsWith("/stripe/");
        ByteBuf body = Unpooled.copiedBuffer(problem(requestId, stripe), StandardCharsets.UTF_8);
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                HttpResponseStatus.SERVICE_UNAVAILABLE, body);
        response.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, "application/problem+json")
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE)
                .set(HttpHeaderNames.RETRY_AFTER, RETRY_AFTER_SECONDS)
                .set("X-Request-Id", requestId)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
        if (!HttpUtil.isKeepAlive(request)) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        ctx.writeAndFlush(response);
    }

    /** The problem document, in the shape of every other error (and Stripe's error object under /stripe/). */
    static String problem(String requestId, boolean stripe) {
        String detail = "the broker is overloaded; retry after " + RETRY_AFTER_SECONDS + " s";
        return "{\"type\":\"https://keybroker.io/problems/503\",\"title\":\"Service Unavailable\",\"status\":503,"
                + "\"detail\":\"" + detail + "\",\"instance\":\"urn:keybroker:request:" + requestId + "\","
                + "\"requestId\":\"" + requestId + "\""
                + (stripe ? ",\"error\":{\"type\":\"api_error\",\"code\":\"keybroker_unavailable\","
                        + "\"message\":\"Keybroker: " + detail + "\"}" : "")
                + "}";
    }

    /**
     * How late one event loop runs: updated by its own periodic task, read by its own connections, both on the
     * loop's thread. A single late run is a pause (the first handshake of a cold JVM, a class loaded for the first
     * time) and sheds nothing; only {@link #LATE_RUNS} late runs in a row, each with requests arriving at
     * {@link #MIN_ARRIVALS_PER_SECOND} or more, are a backlog.
     */
    final class Probe implements Runnable {

        private volatile long lastRun;
        private volatile int lateRuns;
        /** Requests read on this loop since the probe last ran. */
        private volatile long arrivals;

        Probe(long now) {
            this.lastRun = now;
        }

        /** A request was read on this loop (passed on or refused). */
        void arrived() {
            arrivals++;
        }

        @Override
        public void run() {
            long now = nanoTime.getAsLong();
            long interval = now - lastRun;
            long lag = interval - TimeUnit.MILLISECONDS.toNanos(PERIOD_MILLIS);
            boolean busy = arrivals * TimeUnit.SECONDS.toNanos(1) >= MIN_ARRIVALS_PER_SECOND * interval;
            lastRun = now;
            arrivals = 0;
            lateRuns = lag > limitNanos && busy ? Math.min(lateRuns + 1, LATE_RUNS) : 0;
        }

        boolean backlogged() {
            return lateRuns >= LATE_RUNS;
        }
    }
}
