package io.keybroker.backend.aws;

import java.net.URI;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * AWS Secrets Manager ({@code keybroker.aws.*}). Credentials come from the AWS SDK's default chain (IRSA web
 * identity and EKS Pod Identity in Kubernetes).
 *
 * @param region the primary region
 * @param endpoint an endpoint override (VPC endpoint, tests)
 * @param fallbackRegions replica regions tried in order when the primary fails
 * @param endpoints per-region endpoint overrides ({@code keybroker.aws.endpoints.eu-west-1=https://...}), for
 *     VPC endpoints of replica regions and tests; {@code endpoint} applies to the primary region
 */
@ConfigurationProperties("keybroker.aws")
public record AwsProperties(String region, URI endpoint, List<String> fallbackRegions, Map<String, URI> endpoints) {

    public AwsProperties {
        fallbackRegions = fallbackRegions == null ? List.of() : List.copyOf(fallbackRegions);
        endpoints = endpoints == null ? Map.of() : Map.copyOf(endpoints);
    }

    /** The endpoint override of a region, if any. */
    public URI endpointOf(String name) {
        return name.equals(region) && endpoint != null ? endpoint : endpoints.get(name);
    }
}
