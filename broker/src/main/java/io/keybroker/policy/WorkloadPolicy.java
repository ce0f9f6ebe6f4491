package io.keybroker.policy;

import java.util.Optional;

/**
 * The settings of the workload entry that applies to a caller: its application name (for the Spring Cloud
 * Config endpoint) and rate limit. When several entries match, the most specific wins: an exact identity beats a
 * prefix, and a longer prefix beats a shorter one. (Grants, by contrast, are the union of all matching entries.)
 *
 * @param entry the entry's id, {@code <file>#<metadata.name>/workloads[i]}
 * @param identity the entry's identity pattern
 * @param application the application name
 * @param rateLimit the rate limit, empty for none
 */
public record WorkloadPolicy(String entry, IdentityPattern identity, String application,
        Optional<RateLimit> rateLimit) {
}
