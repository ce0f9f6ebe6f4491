package io.keybroker.policy.review;

import io.keybroker.policy.RateLimit;
import java.util.Optional;

/**
 * A workload entry whose rate limit differs between the two policies (the identity pattern has an entry in both).
 *
 * @param identity the entry's identity pattern
 * @param entry the NEW entry's id, {@code <file>#<name>/workloads[i]}
 * @param before the OLD limit, empty for none
 * @param after the NEW limit, empty for none
 */
public record RateLimitChange(String identity, String entry, Optional<RateLimit> before, Optional<RateLimit> after) {

    /** Why this lets more requests through, or empty: the limit is removed, or its burst or rate is raised. */
    public Optional<String> widening() {
        if (after.isEmpty()) {
            return Optional.of("rate limit removed");
        }
        if (before.isEmpty()) {
            return Optional.empty();
        }
        RateLimit b = before.get();
        RateLimit a = after.get();
        double rateBefore = b.permits() / (double) b.period().toSeconds();
        double rateAfter = a.permits() / (double) a.period().toSeconds();
        if (rateAfter > rateBefore || a.permits() > b.permits()) {
            return Optional.of("rate limit raised");
        }
        return Optional.empty();
    }

    /** The policy file of the NEW entry. */
    public String file() {
        return PolicyDiff.fileOf(entry);
    }
}
