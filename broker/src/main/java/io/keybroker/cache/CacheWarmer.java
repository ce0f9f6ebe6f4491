package io.keybroker.cache;

import io.keybroker.backend.SecretLocator;
import io.keybroker.policy.Grant;
import io.keybroker.policy.PolicyStore;
import io.keybroker.policy.SecretPattern;
import io.keybroker.secret.SecretName;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Loads, once the broker is ready, every secret the policy grants by exact name, so the first request of each
 * workload is a cache hit and a backend that is down at that moment is known before traffic arrives. Four reads
 * at a time, in the background; a failure only means that secret loads on first use.
 *
 * <p>AWS has BatchGetSecretValue, but it returns only the AWSCURRENT stage, and the previous version is needed
 * too; so warming uses the same read as a request, through the cache's single-flight.
 */
@Component
public class CacheWarmer {

    private static final Logger log = LoggerFactory.getLogger(CacheWarmer.class);

    private final PolicyStore policies;
    private final SecretLocator locator;
    private final SecretCache cache;

    public CacheWarmer(PolicyStore policies, SecretLocator locator, SecretCache cache) {
        this.policies = policies;
        this.locator = locator;
        this.cache = cache;
    }

    @EventListener
    void onReady(ApplicationReadyEvent event) {
        warm().subscribeOn(Schedulers.boundedElastic()).subscribe();
    }

    /**
     * Warms every name granted exactly and counts those loaded. Never fails: a name that cannot be warmed, however
     * it fails (even while it is being located: a name the mappings refuse as an alias), is skipped and logged,
     * and the others are still warmed.
     */
    Mono<Long> warm() {
        List<SecretName> names = policies.current().grants().stream().map(Grant::secret)
                .filter(pattern -> pattern.kind() == SecretPattern.Kind.EXACT)
                .map(pattern -> SecretName.parse(pattern.text())).distinct().toList();
        return Flux.fromIterable(names)
                .flatMap(name -> Mono.defer(() -> cache.get(locator.locate(name).backend()))
                        .doOnError(ex -> log.info("Warming {} failed ({}); it loads on first use", name,
                                ex.getClass().getSimpleName()))
                        .onErrorResume(ex -> Mono.empty()), 4)
                .count()
                .doOnNext(loaded -> log.info("Warmed the cache with {} of {} secret(s) granted by exact name",
                        loaded, names.size()));
    }
}
