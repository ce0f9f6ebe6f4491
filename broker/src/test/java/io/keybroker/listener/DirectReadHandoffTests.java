package io.keybroker.listener;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.audit.AccessRecord;
import io.keybroker.audit.AuditLog;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiPredicate;
import org.junit.jupiter.api.Test;
import reactor.netty.NettyPipeline;

/**
 * The listener's hand-off to the direct read, on Netty's real HTTP codec: a request the direct read answers never
 * reaches the application, and one it leaves, or fails on, reaches it whole.
 */
class DirectReadHandoffTests {

    private final List<String> passed = new ArrayList<>();

    private EmbeddedChannel channel(BiPredicate<ChannelHandlerContext, HttpRequest> directRead) {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        AuditLog audit = new AuditLog() {
            @Override
            public void access(AccessRecord record) {
            }

            @Override
            public void event(String type, Map<String, ?> fields) {
            }
        };
        ConnectionLimits limits = new ConnectionLimits(new ListenProperties("127.0.0.1", 0, Duration.ofSeconds(60),
                Duration.ofSeconds(10), 256, Duration.ZERO, true), registry,
                new OverloadGuard(Duration.ZERO, audit, List.of(), Clock.systemUTC(), registry), directRead);
        EmbeddedChannel channel = new EmbeddedChannel();
        channel.pipeline().addLast(NettyPipeline.HttpCodec, new HttpServerCodec());
        limits.onChannelInit(null, channel, null);
        channel.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                passed.add(msg instanceof HttpRequest ? "request"
                        : msg instanceof LastHttpContent ? "last" : "content");
                ReferenceCountUtil.release(msg);
            }
        });
        return channel;
    }

    private static void request(EmbeddedChannel channel) {
        channel.writeInbound(Unpooled.copiedBuffer("GET /v1/secrets/stripe/secret-key HTTP/1.1\r\nHost: x\r\n\r\n",
                StandardCharsets.US_ASCII));
    }

    @Test
    void shouldKeepARequestTheDirectReadAnsweredFromTheApplication() {
        EmbeddedChannel channel = channel((ctx, request) -> true);
        request(channel);
        assertThat(passed).isEmpty();
        channel.finishAndReleaseAll();
    }

    @Test
    void shouldPassARequestTheDirectReadLeftOrFailedOnWhole() {
        EmbeddedChannel left = channel((ctx, request) -> false);
        request(left);
        assertThat(passed).containsExactly("request", "last");
        left.finishAndReleaseAll();

        passed.clear();
        EmbeddedChannel failing = channel((ctx, request) -> {
            throw new IllegalStateException("unexpected");
        });
        request(failing);
        // Before: the exception left the pipeline and the request was never answered nor recorded.
        assertThat(passed).containsExactly("request", "last");
        failing.finishAndReleaseAll();
    }
}
