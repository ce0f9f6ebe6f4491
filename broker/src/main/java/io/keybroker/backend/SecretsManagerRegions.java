package io.keybroker.backend;

import java.util.Set;

/**
 * The AWS regions the aws backend reads Secrets Manager in (its region, then its fallback regions), for the
 * endpoints that accept a Secrets Manager ARN: an ARN of another region names another secret. A bean only while
 * the aws backend is in use; the API reads it through this seam type rather than the backend's own properties.
 *
 * @param regions the regions, never empty
 */
public record SecretsManagerRegions(Set<String> regions) {

    public SecretsManagerRegions {
        regions = Set.copyOf(regions);
    }
}
