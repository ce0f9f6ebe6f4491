package io.keybroker.policy;

import io.keybroker.identity.WorkloadIdentity;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * Enforces each workload entry's {@code rateLimit} (HTTP 429 above it) with a token bucket: a bucket holds up to
 * COUNT permits, starts full, and refills continuously at COUNT per UNIT; a request takes one permit.
 *
 * <p>Buckets belong to workload entries, not to raw callers: a caller is mapped to its most specific entry
 * ({@link PolicySet#workload}) and uses that entry's bucket, so every caller under one prefix entry shares its
 * limit, and the number of buckets is bounded by the number of entries in the policy (buckets of entries that
 * disappear on a reload are dropped). A bucket survives a policy reload when its entry's limit is unchanged;
 * when the limit changes the bucket starts afresh, full. A caller whose entry has no limit is not limited.
 *
 * <p>A caller without an entry is denied by the policy, but every denial is still work and an audit line, so
 * such callers get {@code keybroker.policy.unknown-identity-rate-limit} each, in a table of at most
 * {@value #MAX_UNKNOWN} identities. When the table is full, idle identities (bucket full again) are dropped
 * first, and new identities beyond it share one overflow bucket: cycling through many certificates buys no more
 * than one identity's rate.
 */
public final class RateLimiter implements PolicyReloadListener {

    static final int MAX_UNKNOWN = 1024;

    private final Supplier<PolicySet> policies;
    private final LongSupplier nanoTime;
    private final @Nullable RateLimit unknownLimit;
    private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();
    /** Buckets of identities without an entry; guarded by itself. */
    private final Map<String, Bucket> unknown = new HashMap<>();
    private Bucket overflow;

    /**
     * Uses the store's current policy and {@link System#nanoTime()}.
     * @param unknownLimit the limit of each identity without a policy entry, or {@code null} for none
     */
    public RateLimiter(PolicyStore store, @Nullable RateLimit unknownLimit) {
        this(store::current, System::nanoTime, unknownLimit);
    }

    /**
     * Without a limit for identities that have no policy entry.
     * @param policies the policy in force
     * @param nanoTime a monotonic clock in nanoseconds (tests pass a fake one)
     */
    public RateLimiter(Supplier<PolicySet> policies, LongSupplier nanoTime) {
        this(policies, nanoTime, null);
    }

    /**
     * @param policies the policy in force
     * @param nanoTime a monotonic clock in nanoseconds (tests pass a fake one)
     * @param unknownLimit the limit of each identity without a policy entry, or {@code null} for none
     */
    public RateLimiter(Supplier<PolicySet> policies, LongSupplier nanoTime, @Nullable RateLimit unknownLimit) {
        this.policies = Objects.requireNonNull(policies, "policies must not be null");
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime must not be null");
        this.unknownLimit = unknownLimit;
    }

    /** Whether the caller has no policy entry, so its limit is the one for unknown identities. */
    public boolean unknown(WorkloadIdentity identity) {
        return policies.get().workload(identity).isEmpty();
    }

    /** Takes one permit for the caller's workload entry; false when the entry is over its limit. */
    public boolean tryAcquire(WorkloadIdentity identity) {
        return tryAcquire(identity, 1);
    }

    /**
     * Takes {@code permits} permits at once for a request that costs more than one, or none: false when the
     * entry has fewer left, or its limit allows fewer per period than asked (then retrying cannot help).
     */
    public boolean tryAcquire(WorkloadIdentity identity, int permits) {
        if (permits <= 0) {
            return true;
        }
        Bucket bucket = bucket(identity);
        return bucket == null || bucket.tryAcquire(nanoTime.getAsLong(), permits);
    }

    /**
     * How long until the caller's entry has a permit again (for a 429's {@code Retry-After}); zero when a permit
     * is available or the caller is not limited.
     */
    public Duration retryAfter(WorkloadIdentity identity) {
        Bucket bucket = bucket(identity);
        return bucket == null ? Duration.ZERO : Duration.ofNanos(bucket.nanosUntilPermit(nanoTime.getAsLong()));
    }

    private @Nullable Bucket bucket(WorkloadIdentity identity) {
        Optional<WorkloadPolicy> workload = policies.get().workload(identity);
        if (workload.isEmpty()) {
            return unknownBucket(identity.text());
        }
        if (workload.get().rateLimit().isEmpty()) {
            return null;
        }
        RateLimit limit = workload.get().rateLimit().get();
        String key = workload.get().identity().text();
        Bucket bucket = buckets.get(key);
        if (bucket != null && bucket.limit.equals(limit)) {
            return bucket;
        }
        return buckets.compute(key, (k, old) -> old != null && old.limit.equals(limit) ? old
                : new Bucket(limit, nanoTime.getAsLong()));
    }

    private @Nullable Bucket unknownBucket(String key) {
        if (unknownLimit == null) {
            return null;
        }
        synchronized (unknown) {
            Bucket bucket = unknown.get(key);
            if (bucket != null) {
                return bucket;
            }
            long now = nanoTime.getAsLong();
            if (unknown.size() >= MAX_UNKNOWN) {
                unknown.values().removeIf(b -> b.isFull(now));
            }
            if (unknown.size() >= MAX_UNKNOWN) {
                if (overflow == null) {
                    overflow = new Bucket(unknownLimit, now);
                }
                return overflow;
            }
            bucket = new Bucket(unknownLimit, now);
            unknown.put(key, bucket);
            return bucket;
        }
    }

    /** The number of identities without an entry that have their own bucket; at most {@value #MAX_UNKNOWN}. */
    int unknownSize() {
        synchronized (unknown) {
            return unknown.size();
        }
    }

    /** Drops the buckets of entries that are gone or whose limit changed. */
    @Override
    public void reloaded(PolicySet set) {
        Set<String> kept = set.workloads().stream()
                .filter(w -> w.rateLimit().isPresent())
                .map(w -> w.identity().text() + " " + w.rateLimit().get())
                .collect(Collectors.toSet());
        buckets.entrySet().removeIf(e -> !kept.contains(e.getKey() + " " + e.getValue().limit));
    }

    @Override
    public void reloadFailed(List<String> errors) {
        // The old policy stays in force, and so do its buckets.
    }

    /** The number of buckets held; bounded by the number of workload entries with a rate limit. */
    int size() {
        return buckets.size();
    }

    /** A token bucket. Tokens are fractional so that slow rates (1/h) refill smoothly. */
    private static final class Bucket {

        final RateLimit limit;
        private final double permits;
        private final double periodNanos;
        private double tokens;
        private long last;

        Bucket(RateLimit limit, long now) {
            this.limit = limit;
            this.permits = limit.permits();
            this.periodNanos = limit.period().toNanos();
            this.tokens = permits;
            this.last = now;
        }

        synchronized boolean tryAcquire(long now, int count) {
            refill(now);
            if (tokens >= count) {
                tokens -= count;
                return true;
            }
            return false;
        }

        synchronized boolean isFull(long now) {
            refill(now);
            return tokens >= permits;
        }

        synchronized long nanosUntilPermit(long now) {
            refill(now);
            return tokens >= 1 ? 0 : (long) Math.ceil((1 - tokens) * periodNanos / permits);
        }

        private void refill(long now) {
            long elapsed = now - last;
            if (elapsed > 0) {
                // Multiply before dividing: whole numbers stay exact, so 10 ms at 100/s is exactly one permit.
                tokens = elapsed >= periodNanos ? permits : Math.min(permits, tokens + elapsed * permits / periodNanos);
                last = now;
            }
        }
    }
}
