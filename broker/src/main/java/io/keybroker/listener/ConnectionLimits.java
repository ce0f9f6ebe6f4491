package io.keybroker.listener;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiPredicate;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.netty.ConnectionObserver;
import reactor.netty.NettyPipeline;

/**
 * Bounds what one client can hold on the listener ({@code keybroker.listen.*}): the number of open connections,
 * and the time a request may take to arrive. Reactor Netty's own idle timeout only runs while no request is in
 * progress and resets on every byte, so a client that sends one byte of its request head now and then would
 * keep a connection forever; here each request (head and body) has a deadline of its own, and so has the gap
 * between two requests.
 */
public final class ConnectionLimits {

    private static final Logger log = LoggerFactory.getLogger(ConnectionLimits.class);

    private final Duration idleTimeout;
    private final Duration readTimeout;
    private final int maxConnections;
    private final AtomicInteger open = new AtomicInteger();
    private final Counter refused;
    private final Counter timedOut;

    private final OverloadGuard overload;
    /**
     * Answers a request itself (true) or leaves it for Reactor Netty and WebFlux (false); {@code null} when
     * {@code keybroker.listen.direct-reads} is off.
     */
    private final @Nullable BiPredicate<ChannelHandlerContext, HttpRequest> directRead;

    public ConnectionLimits(ListenProperties listen, MeterRegistry registry, OverloadGuard overload) {
        this(listen, registry, overload, null);
    }

    public ConnectionLimits(ListenProperties listen, MeterRegistry registry, OverloadGuard overload,
            @Nullable BiPredicate<ChannelHandlerContext, HttpRequest> directRead) {
        this.overload = overload;
        this.directRead = directRead;
        this.idleTimeout = listen.idleTimeout();
        this.readTimeout = listen.readTimeout();
        this.maxConnections = listen.maxConnections();
        Gauge.builder("keybroker.connections.open", open, AtomicInteger::get)
                .description("Connections open on the mTLS listener").register(registry);
        this.refused = Counter.builder("keybroker.connections.refused")
                .description("Connections closed on accept because keybroker.listen.max-connections were open")
                .register(registry);
        this.timedOut = Counter.builder("keybroker.connections.timed.out")
                .description("Connections closed because a request did not arrive in full within "
                        + "keybroker.listen.read-timeout, or no request came within keybroker.listen.idle-timeout")
                .register(registry);
    }

    /** For {@code HttpServer.doOnChannelInit}: counts the connection, refuses it over the cap, arms its deadline. */
    public void onChannelInit(ConnectionObserver observer, Channel channel, SocketAddress remote) {
        if (open.incrementAndGet() > maxConnections) {
            open.decrementAndGet();
            refused.increment();
            log.warn("refused a connection from {}: {} connections are open (keybroker.listen.max-connections)",
                    remote, maxConnections);
            channel.close();
            return;
        }
        channel.closeFuture().addListener(future -> open.decrementAndGet());
        Deadline gate = new Deadline(overload.enabled() ? overload.probe(channel.eventLoop()) : null);
        if (channel.pipeline().get(NettyPipeline.HttpCodec) != null) {
            channel.pipeline().addAfter(NettyPipeline.HttpCodec, "keybroker.requestDeadline", gate);
        } else {
            channel.pipeline().addLast("keybroker.requestDeadline", gate);
        }
    }

    int open() {
        return open.get();
    }

    /**
     * One per connection: the request in arrival must be complete, or the next one must start, by a deadline; a
     * request that arrives while the event loop lags is answered 503 here ({@link OverloadGuard}); and the common
     * case of a secret read is offered to {@link #directRead} before Reactor Netty sees it.
     */
    private final class Deadline extends ChannelDuplexHandler {

        private final OverloadGuard.Probe probe;
        private ScheduledFuture<?> pending;
        /** Requests passed on whose response is not complete yet; a refusal must not overtake one. */
        private int inFlight;
        /** The request being refused, while its body (if any) is still arriving. */
        private HttpRequest refusing;
        /** A request answered by {@link #directRead} whose last content has not arrived yet. */
        private boolean answered;

        Deadline(OverloadGuard.Probe probe) {
            this.probe = probe;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            // A new connection must deliver its first request (TLS handshake included) within the read timeout.
            arm(ctx, readTimeout, "no complete request within keybroker.listen.read-timeout of connecting");
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            if (msg instanceof HttpRequest request) {
                arm(ctx, readTimeout, "the request did not arrive in full within keybroker.listen.read-timeout");
                if (probe != null) {
                    probe.arrived();
                }
                if (probe != null && inFlight == 0 && overload.overloaded(probe)) {
                    refusing = request;
                }
            }
            if (refusing == null && directRead != null && !answered && inFlight == 0
                    && msg instanceof HttpRequest request && answeredDirectly(ctx, request)) {
                // Answered already; nothing was in flight, so the answer does not overtake another response.
                answered = true;
            }
            if (refusing != null || answered) {
                // Refused or answered here: the rest of the request (its body, if any) is dropped.
                boolean last = msg instanceof LastHttpContent;
                ReferenceCountUtil.release(msg);
                if (last) {
                    disarm();
                    if (refusing != null) {
                        HttpRequest refused = refusing;
                        refusing = null;
                        overload.refuse(ctx, refused);
                    }
                    answered = false;
                    // Written from here, so this handler's write() does not see it: start the idle wait itself.
                    arm(ctx, idleTimeout, "idle for keybroker.listen.idle-timeout between requests");
                }
                // Reactor Netty reads with auto-read off and asks for the next message only once it has handled
                // one; it never sees this request, so ask here, or the connection's next request is never read.
                ctx.read();
                return;
            }
            if (msg instanceof HttpRequest) {
                inFlight++;
            }
            if (msg instanceof LastHttpContent) {
                disarm();
            }
            super.channelRead(ctx, msg);
        }

        /**
         * Whether the direct read answered. An unexpected failure in it leaves the request to the full path, which
         * answers it and writes its one record (the direct read records only once it is sure to answer).
         */
        private boolean answeredDirectly(ChannelHandlerContext ctx, HttpRequest request) {
            try {
                return directRead.test(ctx, request);
            } catch (RuntimeException ex) {
                log.warn("the direct read failed ({}); the request takes the full path", ex.getClass().getName());
                return false;
            }
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
            if (msg instanceof LastHttpContent) {
                inFlight = Math.max(0, inFlight - 1);
                // The response is complete: the next request must start (and arrive) within the idle timeout.
                promise.addListener((ChannelFutureListener) f -> arm(ctx, idleTimeout,
                        "idle for keybroker.listen.idle-timeout between requests"));
            }
            super.write(ctx, msg, promise);
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            disarm();
        }

        private void arm(ChannelHandlerContext ctx, Duration after, String why) {
            disarm();
            pending = ctx.executor().schedule(() -> {
                timedOut.increment();
                log.info("closing connection from {}: {}", ctx.channel().remoteAddress(), why);
                ctx.channel().close();
            }, after.toMillis(), TimeUnit.MILLISECONDS);
        }

        private void disarm() {
            if (pending != null) {
                pending.cancel(false);
                pending = null;
            }
        }
    }
}
