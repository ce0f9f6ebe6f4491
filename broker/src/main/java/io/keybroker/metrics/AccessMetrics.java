package io.keybroker.metrics;

import io.keybroker.audit.AccessListener;
import io.keybroker.audit.AccessRecord;
import io.keybroker.policy.Grant;
import io.keybroker.policy.PolicyReloadListener;
import io.keybroker.policy.PolicySet;
import io.keybroker.policy.PolicyStore;
import io.keybroker.policy.SecretPattern;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Request metrics from every audited decision. Tag values come only from bounded sets: endpoint, decision and
 * source are fixed words; a {@code secret} tag is a name granted by exact name in the current policy, and every
 * other name is {@code other}, so a caller sending random names cannot grow the registry.
 *
 * <ul>
 *   <li>{@code keybroker_requests_total{endpoint,decision,source}}</li>
 *   <li>{@code keybroker_request_latency_seconds{endpoint}}: histogram from 100 µs to 1 s</li>
 *   <li>{@code keybroker_previous_served_total{secret}}: responses that handed out a previous version; while this
 *       still grows after a rotation, some client still reads the old key, so do not expire it in Stripe yet</li>
 *   <li>{@code keybroker_policy_reloads_total{outcome=ok|failed}}</li>
 * </ul>
 */
public final class AccessMetrics implements AccessListener, PolicyReloadListener {

    static final String OTHER = "other";

    private final MeterRegistry registry;
    /**
     * The meters of every request, kept rather than built and looked up in the registry per request (a measurable
     * part of a cached read). Their keys come from the same bounded sets as the tags, so the maps stay small.
     */
    private final Map<RequestKey, Counter> requests = new ConcurrentHashMap<>();
    private final Map<String, Timer> latency = new ConcurrentHashMap<>();
    private volatile Set<String> knownSecrets;

    private record RequestKey(String endpoint, String decision, String source) {
    }

    public AccessMetrics(MeterRegistry registry, PolicyStore policies) {
        this.registry = registry;
        this.knownSecrets = exactNames(policies.current());
    }

    @Override
    public void onAccess(AccessRecord record) {
        String source = record.source() == null ? "none" : record.source();
        requests.computeIfAbsent(new RequestKey(record.endpoint(), record.decision().id(), source),
                key -> Counter.builder("keybroker.requests")
                        .description("Access decisions by endpoint, decision and data source")
                        .tag("endpoint", key.endpoint())
                        .tag("decision", key.decision())
                        .tag("source", key.source())
                        .register(registry)).increment();
        latency.computeIfAbsent(record.endpoint(), endpoint -> Timer.builder("keybroker.request.latency")
                .description("Time from request to decision and data")
                .tag("endpoint", endpoint)
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofNanos(100_000))
                .maximumExpectedValue(Duration.ofSeconds(1))
                .register(registry)).record(record.latencyMicros(), TimeUnit.MICROSECONDS);
        if (record.versions().containsKey("previous")) {
            Counter.builder("keybroker.previous.served")
                    .description("Responses that handed out the previous version of a secret")
                    .tag("secret", secretTag(record.secret()))
                    .register(registry).increment();
        }
    }

    String secretTag(String secret) {
        return secret != null && knownSecrets.contains(secret) ? secret : OTHER;
    }

    @Override
    public void reloaded(PolicySet set) {
        knownSecrets = exactNames(set);
        Counter.builder("keybroker.policy.reloads").tag("outcome", "ok").register(registry).increment();
    }

    @Override
    public void reloadFailed(List<String> errors) {
        Counter.builder("keybroker.policy.reloads").tag("outcome", "failed").register(registry).increment();
    }

    private static Set<String> exactNames(PolicySet set) {
        return set.grants().stream().map(Grant::secret).filter(p -> p.kind() == SecretPattern.Kind.EXACT)
                .map(SecretPattern::text).collect(Collectors.toUnmodifiableSet());
    }
}
