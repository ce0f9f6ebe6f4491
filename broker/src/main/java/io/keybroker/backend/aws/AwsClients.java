package io.keybroker.backend.aws;

import io.keybroker.config.ConfigurationProblemException;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.core.retry.RetryMode;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.http.nio.netty.SdkEventLoopGroup;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerAsyncClient;

/**
 * Builds Secrets Manager clients from {@code keybroker.aws.*}: Netty, adaptive retries, bounded calls, and one I/O
 * thread that every region's client shares (a sidecar makes a few calls a minute; the SDK's default is a group of
 * two threads per core for each client).
 *
 * <p>That thread runs Netty's native epoll transport where it is available (Linux, the image's platforms). The
 * SDK is built against Netty 4.1, and on the Netty 4.2 that Spring Boot brings, its NIO transport sometimes loses
 * a refused connection: the call then hangs until the attempt timeout instead of failing at once, so a backend
 * that is down made requests wait 10 s. {@code AwsClientsTests} holds the epoll transport to failing fast.
 * Elsewhere (a developer's macOS) the SDK's NIO transport is the fallback.
 */
public final class AwsClients implements AutoCloseable {

    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration ATTEMPT_TIMEOUT = Duration.ofSeconds(10);

    private final AwsProperties properties;
    private final EventLoopGroup ioThread;
    private final SdkEventLoopGroup sdkIoThread;

    public AwsClients(AwsProperties properties) {
        this.properties = Objects.requireNonNull(properties, "properties must not be null");
        DefaultThreadFactory threads = new DefaultThreadFactory("keybroker-aws-io", true);
        if (Epoll.isAvailable()) {
            this.ioThread = epollGroup(threads);
            this.sdkIoThread = SdkEventLoopGroup.create(ioThread, EpollSocketChannel::new);
        } else {
            this.sdkIoThread = SdkEventLoopGroup.builder().numberOfThreads(1).threadFactory(threads).build();
            this.ioThread = sdkIoThread.eventLoopGroup();
        }
    }

    /** Netty 4.2 deprecates the group class, but the SDK recognises only it (or NIO's) as an epoll group. */
    @SuppressWarnings("deprecation")
    private static EventLoopGroup epollGroup(DefaultThreadFactory threads) {
        return new EpollEventLoopGroup(1, threads);
    }

    /** The primary region's client. */
    public SecretsManagerAsyncClient primary() {
        if (properties.region() == null || properties.region().isBlank()) {
            throw new ConfigurationProblemException("keybroker.aws.region is not set: set the region of the "
                    + "secrets, e.g. --keybroker.aws.region=eu-west-1");
        }
        return forRegion(properties.region());
    }

    /** The client of one region, with its endpoint override if one is configured. */
    public SecretsManagerAsyncClient forRegion(String region) {
        var builder = SecretsManagerAsyncClient.builder()
                .region(Region.of(region))
                .httpClientBuilder(NettyNioAsyncHttpClient.builder()
                        .eventLoopGroup(sdkIoThread)
                        .connectionTimeout(CONNECT_TIMEOUT))
                .overrideConfiguration(ClientOverrideConfiguration.builder()
                        .retryStrategy(RetryMode.ADAPTIVE_V2)
                        .apiCallTimeout(CALL_TIMEOUT)
                        .apiCallAttemptTimeout(ATTEMPT_TIMEOUT).build());
        if (properties.endpointOf(region) != null) {
            builder.endpointOverride(properties.endpointOf(region));
        }
        return builder.build();
    }

    /** Stops the shared I/O thread; close the clients first (a client never closes a group it was given). */
    @Override
    public void close() {
        ioThread.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
