package io.keybroker.backend;

import io.keybroker.secret.SecretName;
import java.util.List;
import java.util.function.Function;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The logical names of the secrets that exist in the backends: each backend the mappings use lists what it
 * holds under this environment, and {@link SecretLocator#namesAt} turns each path back into the names that own
 * it. A path no mapping produces (another environment's, a path only an alias would reach) is dropped: it has
 * no name a policy could grant, and its path is not shown.
 */
public final class KnownSecrets {

    private KnownSecrets() {
    }

    /**
     * @param locator the configured mappings
     * @param backends the backend of each id the mappings name
     * @return the names, sorted and without duplicates
     */
    public static Mono<List<SecretName>> list(SecretLocator locator, Function<String, SecretBackend> backends) {
        // Every path template starts with {environment}/, so nothing outside it can have a name.
        String prefix = locator.environment() + "/";
        return Flux.fromIterable(locator.backendsInUse())
                .concatMap(id -> backends.apply(id).list(prefix)
                        .flatMapIterable(paths -> paths.stream().flatMap(path -> locator.namesAt(id, path).stream())
                                .toList()))
                .distinct()
                .sort()
                .collectList();
    }
}
