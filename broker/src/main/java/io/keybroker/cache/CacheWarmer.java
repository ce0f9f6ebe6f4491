package io.keybroker.cache;

import io.keybroker.backend.SecretLocator;
import io.keybroker.config.ConfigurationProblemException;
import io.keybroker.identity.WorkloadIdentity;
import io.keybroker.policy.Grant;
import io.keybroker.policy.PolicyStore;
import io.keybroker.policy.SecretPattern;
import io.keybroker.secret.SecretName;
import java.util.ArrayList;
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
 * <p>With {@code keybroker.cache.warm-identities} set (the injector sets it to the pod's SPIFFE ID), only the names
 * granted to one of those identities are warmed: a sidecar serves its own pod, and loading every grant of the
 * namespace's policy in every pod would multiply backend reads and cache memory by the number of workloads for
 * nothing. A name granted to another identity still loads on first use. The policy is read once, at ready time;
 * a reload does not warm again.
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
    private final List<WorkloadIdentity> identities;

    /** @throws ConfigurationProblemException when an entry of {@code keybroker.cache.warm-identities} is wrong */
    public CacheWarmer(PolicyStore policies, SecretLocator locator, SecretCache cache, CacheProperties properties) {
        this.policies = policies;
        this.locator = locator;
        this.cache = cache;
        List<String> problems = new ArrayList<>();
        this.identities = CacheConfiguration.warmIdentities(properties, problems);
        if (!problems.isEmpty()) {
            throw new ConfigurationProblemException(problems);
        }
    }

    @EventListener
    void onReady(ApplicationReadyEvent event) {
        warm().subscribeOn(Schedulers.boundedElastic()).subscribe();
    }

    /**
     * Warms every name granted exactly (to one of the warm identities, when there are any) and counts those
     * loaded. Never fails: a name that cannot be warmed, however it fails (even while it is being located: a name
     * the mappings refuse as an alias), is skipped and logged, and the others are still warmed.
     */
    Mono<Long> warm() {
        List<SecretName> names = policies.current().grants().stream()
                .filter(grant -> grant.secret().kind() == SecretPattern.Kind.EXACT)
                .filter(this::grantedToOurIdentities)
                .map(Grant::secret)
                .map(pattern -> SecretName.parse(pattern.text())).distinct().toList();
        String whose = identities.isEmpty() ? "to any identity"
                : "to the " + identities.size() + " identit" + (identities.size() == 1 ? "y" : "ies")
                        + " of keybroker.cache.warm-identities";
        return Flux.fromIterable(names)
                .flatMap(name -> Mono.defer(() -> cache.get(locator.locate(name).backend()))
                        .doOnError(ex -> log.info("Warming {} failed ({}); it loads on first use", name,
                                ex.getClass().getSimpleName()))
                        .onErrorResume(ex -> Mono.empty()), 4)
                .count()
                .doOnNext(loaded -> log.info("Warmed the cache with {} of {} secret(s) granted by exact name {}",
                        loaded, names.size(), whose));
    }

    private boolean grantedToOurIdentities(Grant grant) {
        return identities.isEmpty() || identities.stream().anyMatch(grant.identity()::matches);
    }
}
