package io.keybroker.policy;

import java.util.Optional;

/**
 * The settings of the workload entry that applies to a caller: its application name (for the Spring Cloud
 * Config endpoint), rate limit and Stripe section. When several entries match, the most specific wins: an exact identity beats a
 * prefix, and a longer prefix beats a shorter one. (Grants, by contrast, are the union of all matching entries.)
 *
 * @param entry the entry's id, {@code <file>#<metadata.name>/workloads[i]}
 * @param identity the entry's identity pattern
 * @param application the application name
 * @param rateLimit the rate limit, empty for none
 * @param stripe the entry's {@code stripe} section, empty for none; like the application name, it comes from the
 *     most specific matching entry only, so a prefix entry never adds Stripe calls to an exact one
 */
public record WorkloadPolicy(String entry, IdentityPattern identity, String application,
        Optional<RateLimit> rateLimit, Optional<StripePolicy> stripe) {
}
