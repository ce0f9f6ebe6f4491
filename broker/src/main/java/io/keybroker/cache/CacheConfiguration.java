package io.keybroker.cache;

import io.keybroker.backend.BackendKind;
import io.keybroker.backend.SecretBackend;
import io.keybroker.backend.SecretBackends;
import io.keybroker.config.ConfigurationProblemException;
import io.keybroker.config.KeybrokerProperties;
import io.keybroker.identity.WorkloadIdentity;
import io.keybroker.rotation.RotationProperties;
import io.keybroker.secret.SecretName;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.scheduling.concurrent.ThreadPoolTaskScheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Wires the backends registry, the cipher with its per-process key, and the cache with its background poller
 * (started and stopped with the application context, ticking on {@code keybrokerScheduler}).
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties({CacheProperties.class, RotationProperties.class})
public class CacheConfiguration {

    /**
     * Every configured {@link SecretBackend}; start-up stops when {@code keybroker.backend} or a mapping names a
     * backend that has none.
     */
    @Bean
    SecretBackends secretBackends(List<SecretBackend> backends, KeybrokerProperties properties) {
        SecretBackends registry = new SecretBackends(backends);
        String configured = registry.ids().isEmpty() ? "none" : String.join(", ", registry.ids());
        List<String> problems = new ArrayList<>();
        if (!registry.ids().contains(properties.backend())) {
            problems.add("keybroker.backend is '" + properties.backend() + "' but no such backend is configured "
                    + "(configured: " + configured + "); use one of " + BackendKind.describeIds());
        }
        for (int i = 0; i < properties.mappings().size(); i++) {
            String backend = properties.mappings().get(i).backend();
            if (backend != null && !backend.isBlank() && !registry.ids().contains(backend)) {
                problems.add("keybroker.mappings[" + i + "].backend is '" + backend + "' but no such backend is "
                        + "configured (configured: " + configured + ")");
            }
        }
        if (!problems.isEmpty()) {
            throw new ConfigurationProblemException(problems);
        }
        return registry;
    }

    /** The AES-256-GCM cipher; its key is made here, at start-up, and lives only in this process. */
    @Bean
    SecretCipher secretCipher() {
        return new SecretCipher();
    }

    /** Started and stopped with the context (a SmartLifecycle), closed with it. */
    @Bean
    EncryptedSecretCache secretCache(SecretBackends secretBackends, SecretCipher secretCipher,
            CacheProperties cache, RotationProperties rotation, ObjectProvider<MeterRegistry> meterRegistry,
            Clock clock, ThreadPoolTaskScheduler keybrokerScheduler) {
        validate(cache, rotation);
        // Commands that run with a small context have no actuator registry; their meters go nowhere.
        MeterRegistry registry = meterRegistry.getIfAvailable(SimpleMeterRegistry::new);
        // The tick and the call time limits run on the broker's one scheduler (the backend calls themselves run on
        // the backends' own clients). The context owns that pool, so the cache must not dispose it on close.
        return new EncryptedSecretCache(secretBackends, secretCipher, cache, rotation, registry, clock,
                Schedulers.fromExecutorService(keybrokerScheduler.getScheduledExecutor(), "keybroker-cache"), false,
                new Random());
    }

    static void validate(CacheProperties cache, RotationProperties rotation) {
        List<String> problems = new ArrayList<>();
        requirePositive(problems, "keybroker.cache.ttl", cache.ttl());
        requireNotNegative(problems, "keybroker.cache.max-stale", cache.maxStale());
        requireNotNegative(problems, "keybroker.cache.not-found-ttl", cache.notFoundTtl());
        requirePositive(problems, "keybroker.cache.not-found-max-backoff", cache.notFoundMaxBackoff());
        if (cache.maxSize() < 1) {
            problems.add("keybroker.cache.max-size is " + cache.maxSize() + ": it must be at least 1");
        }
        warmIdentities(cache, problems);
        requirePositive(problems, "keybroker.rotation.poll-interval", rotation.pollInterval());
        requireNotNegative(problems, "keybroker.rotation.grace-period", rotation.gracePeriod());
        if (!(rotation.jitter() >= 0 && rotation.jitter() <= 1)) {
            problems.add("keybroker.rotation.jitter is " + rotation.jitter() + ": use a fraction from 0 to 1, "
                    + "e.g. 0.2 to move each poll by up to 20% of keybroker.rotation.poll-interval");
        }
        if (!problems.isEmpty()) {
            throw new ConfigurationProblemException(problems);
        }
    }

    /**
     * The identities of {@code keybroker.cache.warm-identities}, each parsed as a caller identity is (so it can
     * only name a caller the policy could match); an entry that is not one adds a problem naming its index and
     * what to write instead.
     */
    static List<WorkloadIdentity> warmIdentities(CacheProperties cache, List<String> problems) {
        List<WorkloadIdentity> identities = new ArrayList<>();
        List<String> entries = cache.warmIdentities();
        for (int i = 0; i < entries.size(); i++) {
            String entry = entries.get(i);
            String property = "keybroker.cache.warm-identities[" + i + "]";
            // The grammar's own message for text that is no SPIFFE ID at all lists the policy's pattern forms,
            // which this property does not take.
            if (!entry.regionMatches(true, 0, "spiffe://", 0, 9) && !entry.startsWith("cn:")) {
                problems.add(property + " is '" + SecretName.printable(entry) + "', which is not a SPIFFE ID; "
                        + "write the SPIFFE ID of a workload this broker serves, e.g. "
                        + "spiffe://cluster.local/ns/payments/sa/checkout (or cn:NAME for a subject CN), "
                        + "or leave the property empty to warm every name the policy grants by exact name");
                continue;
            }
            try {
                identities.add(WorkloadIdentity.parse(entry));
            } catch (IllegalArgumentException ex) {
                problems.add(property + ": " + ex.getMessage());
            }
        }
        return List.copyOf(identities);
    }

    private static void requirePositive(List<String> problems, String property, Duration value) {
        if (value == null || value.isNegative() || value.isZero()) {
            problems.add(property + " is " + value + ": set a positive duration such as 30s or 5m");
        }
    }

    private static void requireNotNegative(List<String> problems, String property, Duration value) {
        if (value == null || value.isNegative()) {
            problems.add(property + " is " + value + ": set a duration of zero or more, such as 0s or 15m");
        }
    }
}
