package io.keybroker.listener;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.RunningBroker;
import io.keybroker.testsupport.TestPki;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslContextOption;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.concurrent.Future;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The listener's TLS provider (keybroker.tls.provider): by default BoringSSL, which offers the hybrid
 * post-quantum group X25519MLKEM768, and the JDK's TLS on request. A client that offers nothing but that group
 * completes a real handshake with the default listener and is refused by the JDK one, so the test sees which
 * library answered. Both serve the same secret to the same workload certificate.
 */
class ListenerTlsProviderIntegrationTests {

    private static EventLoopGroup group;

    @BeforeAll
    static void start() {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    @AfterAll
    static void stop() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    @Test
    void shouldOfferTheHybridPostQuantumGroupWithTheDefaultProvider() throws Exception {
        assertThat(OpenSsl.isAvailable()).as("BoringSSL loads on the platforms the image ships for: %s",
                OpenSsl.unavailabilityCause()).isTrue();
        BrokerFixture fixture = BrokerFixture.create();
        try (RunningBroker broker = RunningBroker.start(fixture.properties())) {
            assertThat(handshakeOnlyWithHybridGroup(fixture, broker)).as("handshake offering only X25519MLKEM768")
                    .isTrue();
            assertServesTheSecret(fixture, broker);
        }
    }

    @Test
    void shouldServeOnTheJdkProviderWhenAsked() throws Exception {
        BrokerFixture fixture = BrokerFixture.create();
        Map<String, String> properties = new LinkedHashMap<>(fixture.properties());
        properties.put("keybroker.tls.provider", "jdk");
        try (RunningBroker broker = RunningBroker.start(properties)) {
            assertServesTheSecret(fixture, broker);
            if (Runtime.version().feature() < 27) {
                // SunJSSE gets X25519MLKEM768 with JDK 27 (JEP 527): before that the JDK listener cannot agree.
                assertThat(handshakeOnlyWithHybridGroup(fixture, broker)).isFalse();
            }
        }
    }

    private static void assertServesTheSecret(BrokerFixture fixture, RunningBroker broker) throws Exception {
        HttpResponse<String> response = TestPki.httpClient(fixture.ca(), fixture.checkout()).send(
                HttpRequest.newBuilder(broker.uri("/v1/secrets/stripe/secret-key")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).contains(BrokerFixture.CURRENT_VALUE);
    }

    private static boolean handshakeOnlyWithHybridGroup(BrokerFixture fixture, RunningBroker broker)
            throws Exception {
        TestPki.Cert client = fixture.checkout();
        SslContext context = SslContextBuilder.forClient()
                .sslProvider(SslProvider.OPENSSL)
                .keyManager(client.key(), client.certificate(), client.issuer())
                .trustManager(fixture.ca().certificate())
                .protocols("TLSv1.3")
                .option(OpenSslContextOption.GROUPS, new String[] {"X25519MLKEM768"})
                .build();
        // The handler is kept here, not looked up in the pipeline afterwards: a refused handshake can close the
        // channel, and empty its pipeline, before connect() returns.
        CompletableFuture<SslHandler> ssl = new CompletableFuture<>();
        Channel channel = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        SslHandler handler = context.newHandler(ch.alloc(), "localhost", broker.port());
                        ssl.complete(handler);
                        ch.pipeline().addLast(handler);
                    }
                })
                .connect("127.0.0.1", broker.port()).sync().channel();
        try {
            Future<Channel> handshake = ssl.get(10, TimeUnit.SECONDS).handshakeFuture();
            assertThat(handshake.await(10, TimeUnit.SECONDS)).as("handshake finished").isTrue();
            return handshake.isSuccess();
        } finally {
            channel.close().sync();
        }
    }
}
