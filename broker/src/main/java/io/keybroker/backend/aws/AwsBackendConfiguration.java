package io.keybroker.backend.aws;

import io.keybroker.backend.BackendHealthIndicator;
import io.keybroker.config.ConditionalOnBackend;
import java.util.ArrayList;
import java.util.List;
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
        List<AwsSecretBackend.RegionClient> regions = new ArrayList<>();
        regions.add(new AwsSecretBackend.RegionClient(properties.region(), AwsClients.primary(properties)));
        for (String fallback : properties.fallbackRegions()) {
            regions.add(new AwsSecretBackend.RegionClient(fallback, AwsClients.forRegion(properties, fallback)));
        }
        return new AwsSecretBackend(regions);
    }

    /** Readiness waits until Secrets Manager has answered once with the broker's credentials. */
    @Bean
    BackendHealthIndicator awsHealthIndicator(AwsSecretBackend awsSecretBackend) {
        return new BackendHealthIndicator(awsSecretBackend);
    }
}
