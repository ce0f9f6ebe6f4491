package io.keybroker.listener;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.audit.AccessRecord;
import io.keybroker.audit.AuditLog;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import reactor.netty.NettyPipeline;

/**
 * The listener's load shedding, on Netty's real HTTP codec with a clock the test moves: a request that arrives
 * while the event loop lags past keybroker.listen.overload-lag gets 503 with Retry-After, one audit record and
 * no trip into the application; when the lag is gone, requests pass again.
 */
class OverloadGuardTests {

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final List<AccessRecord> records = new ArrayList<>();
    private final List<Object> passed = new ArrayList<>();
    private final AtomicLong reads = new AtomicLong();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    private final AuditLog audit = new AuditLog() {
        @Override
        public void access(AccessRecord record) {
            records.add(record);
        }

        @Override
        public void event(String type, Map<String, ?> fields) {
        }
    };

    private OverloadGuard guard;

    private EmbeddedChannel channel(Duration limit) {
        guard = new OverloadGuard(limit, now::get, audit, List.of(), Clock.systemUTC(), registry);
        ConnectionLimits limits = new ConnectionLimits(new ListenProperties("127.0.0.1", 0, Duration.ofSeconds(60),
                Duration.ofSeconds(10), 256, limit, false), registry, guard);
        EmbeddedChannel channel = new EmbeddedChannel();
        // As under Reactor Netty: no auto-read, the application asks for each next message.
        channel.config().setAutoRead(false);
        channel.pipeline().addLast(new ChannelOutboundHandlerAdapter() {
            @Override
            public void read(ChannelHandlerContext ctx) throws Exception {
                reads.incrementAndGet();
                super.read(ctx);
            }
        });
        channel.pipeline().addLast(NettyPipeline.HttpCodec, new HttpServerCodec());
        limits.onChannelInit(null, channel, null);
        channel.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                passed.add(msg.getClass().getSimpleName());
                ReferenceCountUtil.release(msg);
            }
        });
        return channel;
    }

    private static void request(EmbeddedChannel channel, String path) {
        channel.writeInbound(Unpooled.copiedBuffer("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n",
                StandardCharsets.US_ASCII));
    }

    private static String response(EmbeddedChannel channel) {
        StringBuilder out = new StringBuilder();
        ByteBuf buf;
        while ((buf = channel.readOutbound()) != null) {
            out.append(buf.toString(StandardCharsets.UTF_8));
            buf.release();
        }
        return out.toString();
    }

    /**
     * The loop runs its probe {@code runs} times, each {@code lateMillis} behind schedule, while requests arrive
     * on it at 1,000 a second (other connections of the same loop).
     */
    private void lag(EmbeddedChannel channel, int runs, long lateMillis) {
        lag(channel, runs, lateMillis, 1000);
    }

    private void lag(EmbeddedChannel channel, int runs, long lateMillis, int arrivalsPerSecond) {
        for (int i = 0; i < runs; i++) {
            long arrivals = arrivalsPerSecond * (OverloadGuard.PERIOD_MILLIS + lateMillis) / 1000;
            for (long a = 0; a < arrivals; a++) {
                guard.probe(channel.eventLoop()).arrived();
            }
            now.addAndGet(TimeUnit.MILLISECONDS.toNanos(OverloadGuard.PERIOD_MILLIS + lateMillis));
            channel.advanceTimeBy(OverloadGuard.PERIOD_MILLIS, TimeUnit.MILLISECONDS);
            channel.runScheduledPendingTasks();
        }
    }

    @Test
    void shouldPassRequestsAfterOneLongPauseOfTheLoop() {
        EmbeddedChannel channel = channel(Duration.ofMillis(100));
        // One late run (a cold JVM's first handshake, say) is not a backlog.
        lag(channel, 1, 500);
        lag(channel, OverloadGuard.LATE_RUNS - 1, 0);
        request(channel, "/v1/secrets/stripe/secret-key");
        assertThat(passed).contains("DefaultHttpRequest");
        assertThat(records).isEmpty();
        channel.finishAndReleaseAll();
    }

    @Test
    void shouldPassRequestsWhileTheLoopKeepsUp() {
        EmbeddedChannel channel = channel(Duration.ofMillis(100));
        lag(channel, 5, 0);
        request(channel, "/v1/secrets/stripe/secret-key");
        assertThat(passed).contains("DefaultHttpRequest");
        assertThat(response(channel)).isEmpty();
        assertThat(records).isEmpty();
        channel.finishAndReleaseAll();
    }

    @Test
    void shouldAnswer503WithRetryAfterAndOneRecordWhileTheLoopLags() {
        EmbeddedChannel channel = channel(Duration.ofMillis(100));
        // The loop's probe ran 200 ms late three times in a row: a request read now waits about that long.
        lag(channel, OverloadGuard.LATE_RUNS, 200);
        request(channel, "/v1/secrets/stripe/secret-key");

        String answer = response(channel);
        assertThat(answer).startsWith("HTTP/1.1 503 Service Unavailable").contains("retry-after: 1")
                .contains("content-type: application/problem+json").contains("cache-control: no-store")
                .contains("\"status\":503").doesNotContain("\"error\"");
        assertThat(passed).as("nothing reached the application").isEmpty();
        assertThat(records).singleElement().satisfies(record -> {
            assertThat(record.decision()).isEqualTo(AccessRecord.Decision.UNAVAILABLE);
            assertThat(record.rule()).isEqualTo("overload");
            assertThat(answer).contains(record.requestId());
        });
        assertThat(registry.get("keybroker.requests.shed").counter().count()).isEqualTo(1);
        assertThat(channel.isOpen()).as("the connection stays open for the retry").isTrue();
        assertThat(reads.get()).as("the next request on the connection is asked for").isPositive();

        // The loop catches up: the probe runs on time again, and the next request passes.
        lag(channel, 1, 0);
        request(channel, "/v1/secrets/stripe/secret-key");
        assertThat(passed).contains("DefaultHttpRequest");
        assertThat(records).hasSize(1);
        channel.finishAndReleaseAll();
    }

    @Test
    void shouldPassRequestsWhileTheLoopLagsWithFewRequestsArriving() {
        EmbeddedChannel channel = channel(Duration.ofMillis(100));
        // Late, but hardly any requests: the process was starved of CPU (a busy node, a cold JVM), not behind on
        // requests; a healthy pod must not fail the few it gets.
        lag(channel, OverloadGuard.LATE_RUNS + 2, 300, OverloadGuard.MIN_ARRIVALS_PER_SECOND / 2);
        request(channel, "/v1/secrets/stripe/secret-key");
        assertThat(passed).contains("DefaultHttpRequest");
        assertThat(records).isEmpty();
        channel.finishAndReleaseAll();
    }

    @Test
    void shouldGiveStripeClientsStripesErrorObject() {
        EmbeddedChannel channel = channel(Duration.ofMillis(100));
        lag(channel, OverloadGuard.LATE_RUNS, 200);
        request(channel, "/stripe/v1/balance");
        assertThat(response(channel)).contains("\"error\":{\"type\":\"api_error\",\"code\":\"keybroker_unavailable\"");
        channel.finishAndReleaseAll();
    }

    @Test
    void shouldNeverShedWhenTurnedOff() {
        EmbeddedChannel channel = channel(Duration.ZERO);
        lag(channel, OverloadGuard.LATE_RUNS, 5000);
        request(channel, "/v1/secrets/stripe/secret-key");
        assertThat(passed).contains("DefaultHttpRequest");
        assertThat(records).isEmpty();
        channel.finishAndReleaseAll();
    }
}
