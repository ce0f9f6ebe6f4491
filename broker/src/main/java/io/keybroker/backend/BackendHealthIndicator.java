package io.keybroker.backend;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.ReactiveHealthIndicator;
import reactor.core.publisher.Mono;

/**
 * A backend's health contributor ({@code vault}, {@code aws}), part of the readiness group: DOWN until the backend
 * has answered an authenticated call once ({@link SecretBackend#checkHealth()}), then UP for good.
 *
 * <p>Why it latches: once the broker is serving, a Vault outage is survived by the cache (stale values until
 * {@code keybroker.cache.max-stale}, then 503 per request). Taking readiness down would take the whole pod,
 * workload included, out of service for an outage the cache is built to ride out, and would poll Vault on every
 * probe. Before the first answer there is nothing to serve, so readiness waits: a wrong address or bad
 * credentials at start keep the pod unready (never crash-looping) and log a message naming the property to fix.
 * Each new failure message is logged once; the details of the health answer are not shown on the management port.
 */
public final class BackendHealthIndicator implements ReactiveHealthIndicator {

    private static final Logger log = LoggerFactory.getLogger(BackendHealthIndicator.class);

    private final SecretBackend backend;
    private final AtomicBoolean answered = new AtomicBoolean();
    private final AtomicReference<String> lastProblem = new AtomicReference<>();

    public BackendHealthIndicator(SecretBackend backend) {
        this.backend = backend;
    }

    @Override
    public Mono<Health> health() {
        if (answered.get()) {
            return Mono.just(Health.up().build());
        }
        return backend.checkHealth()
                .then(Mono.fromSupplier(() -> {
                    if (answered.compareAndSet(false, true)) {
                        log.info("The {} backend answered with the broker's credentials; it is ready", backend.id());
                    }
                    return Health.up().build();
                }))
                .onErrorResume(error -> {
                    String problem = String.valueOf(error.getMessage());
                    if (!problem.equals(lastProblem.getAndSet(problem))) {
                        log.warn("The {} backend is not ready (readiness stays down until it answers): {}",
                                backend.id(), problem);
                    }
                    return Mono.just(Health.down().withDetail("error", problem).build());
                });
    }

    /** Whether the backend has answered once; readiness is UP from then on. */
    public boolean isReady() {
        return answered.get();
    }
}
