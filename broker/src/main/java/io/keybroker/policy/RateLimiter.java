package io.keybroker.policy;

import io.keybroker.identity.WorkloadIdentity;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * Enforces each workload entry's {@code rateLimit} (HTTP 429 above it) with a token bucket: a bucket holds up to
 * COUNT permits, starts full, and refills continuously at COUNT per UNIT; a request takes one permit.
 *
 * <p>Buckets belong to workload entries, not to raw callers: a caller is mapped to its most specific entry
 * ({@link PolicySet#workload}) and uses that entry's bucket, so every caller under one prefix entry shares its
 * limit, and the number of buckets is bounded by the number of entries in the policy (buckets of entries that
 * disappear on a reload are dropped). A bucket survives a policy reload when its entry's limit is unchanged;
 * when the limit changes the bucket starts afresh, full. A caller without an entry, or whose entry has no limit,
 * is not limited here (the policy denies it anyway when it has no entry).
 */
public final class RateLimiter implements PolicyReloadListener {

    private final Supplier<PolicySet> policies;
    private final LongSupplier nanoTime;
    private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();

    /** Uses the store's current policy and {@link System#nanoTime()}. */
    public RateLimiter(PolicyStore store) {
        this(store::current, System::nanoTime);
    }

    /**
     * @param policies the policy in force
     * @param nanoTime a monotonic clock in nanoseconds (tests pass a fake one)
     */
    public RateLimiter(Supplier<PolicySet> policies, LongSupplier nanoTime) {
        this.policies = Objects.requireNonNull(policies, "policies must not be null");
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime must not be null");
    }

    /** Takes one permit for the caller's workload entry; false when the entry is over its limit. */
    public boolean tryAcquire(WorkloadIdentity identity) {
        Bucket bucket = bucket(identity);
        return bucket == null || bucket.tryAcquire(nanoTime.getAsLong());
    }

    /**
     * How long until the caller's entry has a permit again (for a 429's {@code Retry-After}); zero when a permit
     * is available or the caller is not limited.
     */
    public Duration retryAfter(WorkloadIdentity identity) {
        Bucket bucket = bucket(identity);
        return bucket == null ? Duration.ZERO : Duration.ofNanos(bucket.nanosUntilPermit(nanoTime.getAsLong()));
    }

    private Bucket bucket(WorkloadIdentity identity) {
        Optional<WorkloadPolicy> workload = policies.get().workload(identity);
        if (workload.isEmpty() || workload.get().rateLimit().isEmpty()) {
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

        synchronized boolean tryAcquire(long now) {
            refill(now);
            if (tokens >= 1) {
                tokens -= 1;
                return true;
            }
            return false;
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
