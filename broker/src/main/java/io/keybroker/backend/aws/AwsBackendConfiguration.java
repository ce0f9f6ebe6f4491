package io.keybroker.backend.aws;

import io.keybroker.backend.SecretsManagerRegions;
import io.keybroker.backend.BackendHealthIndicator;
import io.keybroker.config.ConditionalOnBackend;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Wires the AWS Secrets Manager backend when {@code keybroker.backend} or a mapping names {@code aws}. */
@Configuration(proxyBeanMethods = false)
@ConditionalOnBackend(AwsSecretBackend.ID)
@EnableConfigurationProperties(AwsProperties.class)
public class AwsBackendConfiguration {

    @Bean(destroyMethod = "close")
    AwsSecretBackend awsSecretBackend(AwsProperties properties) {
        return AwsBackendKind.create(properties);
    }

    /** What the agent endpoint needs to know of this backend: the regions whose ARNs it reads. */
    @Bean
    SecretsManagerRegions secretsManagerRegions(AwsProperties properties) {
        java.util.Set<String> regions = new java.util.LinkedHashSet<>();
        if (properties.region() != null) {
            regions.add(properties.region());
        }
        regions.addAll(properties.fallbackRegions());
        return new SecretsManagerRegions(regions);
    }

    /** Readiness waits until Secrets Manager has answered once with the broker's credentials. */
    @Bean
    BackendHealthIndicator awsHealthIndicator(AwsSecretBackend awsSecretBackend) {
        return new BackendHealthIndicator(awsSecretBackend);
    }
}
