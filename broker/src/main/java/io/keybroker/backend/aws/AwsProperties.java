package io.keybroker.backend.aws;

import java.net.URI;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * AWS Secrets Manager ({@code keybroker.aws.*}). Credentials come from the AWS SDK's default chain (IRSA web
 * identity and EKS Pod Identity in Kubernetes).
 *
 * @param region the primary region
 * @param endpoint an endpoint override (VPC endpoint, tests)
 * @param fallbackRegions replica regions tried in order when the primary fails
 */
@ConfigurationProperties("keybroker.aws")
public record AwsProperties(String region, URI endpoint, List<String> fallbackRegions) {

    public AwsProperties {
        fallbackRegions = fallbackRegions == null ? List.of() : List.copyOf(fallbackRegions);
    }
}
