package io.keybroker.backend.aws;

import io.keybroker.config.ConfigurationProblemException;
import java.time.Duration;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.core.retry.RetryMode;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerAsyncClient;

/** Builds Secrets Manager clients from {@code keybroker.aws.*}: Netty NIO, adaptive retries, bounded calls. */
public final class AwsClients {

    private AwsClients() {
    }

    public static SecretsManagerAsyncClient primary(AwsProperties properties) {
        if (properties.region() == null || properties.region().isBlank()) {
            throw new ConfigurationProblemException("keybroker.aws.region is not set: set the region of the "
                    + "secrets, e.g. --keybroker.aws.region=eu-west-1");
        }
        return forRegion(properties, properties.region());
    }

    /** The client of one region, with its endpoint override if one is configured. */
    public static SecretsManagerAsyncClient forRegion(AwsProperties properties, String region) {
        var builder = SecretsManagerAsyncClient.builder()
                .region(Region.of(region))
                .httpClientBuilder(NettyNioAsyncHttpClient.builder().connectionTimeout(Duration.ofSeconds(5)))
                .overrideConfiguration(ClientOverrideConfiguration.builder()
                        .retryStrategy(RetryMode.ADAPTIVE_V2)
                        .apiCallTimeout(Duration.ofSeconds(30))
                        .apiCallAttemptTimeout(Duration.ofSeconds(10)).build());
        if (properties.endpointOf(region) != null) {
            builder.endpointOverride(properties.endpointOf(region));
        }
        return builder.build();
    }
}
