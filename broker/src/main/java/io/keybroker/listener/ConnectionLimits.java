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
import io.netty.util.concurrent.ScheduledFuture;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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

    public ConnectionLimits(ListenProperties listen, MeterRegistry registry) {
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
        if (channel.pipeline().get(NettyPipeline.HttpCodec) != null) {
            channel.pipeline().addAfter(NettyPipeline.HttpCodec, "keybroker.requestDeadline", new Deadline());
        } else {
            channel.pipeline().addLast("keybroker.requestDeadline", new Deadline());
        }
    }

    int open() {
        return open.get();
    }

    /** One per connection: the request in arrival must be complete, or the next one must start, by a deadline. */
    private final class Deadline extends ChannelDuplexHandler {

        private ScheduledFuture<?> pending;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            // A new connection must deliver its first request (TLS handshake included) within the read timeout.
            arm(ctx, readTimeout, "no complete request within keybroker.listen.read-timeout of connecting");
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            if (msg instanceof HttpRequest) {
                arm(ctx, readTimeout, "the request did not arrive in full within keybroker.listen.read-timeout");
            }
            if (msg instanceof LastHttpContent) {
                disarm();
            }
            super.channelRead(ctx, msg);
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
            if (msg instanceof LastHttpContent) {
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
