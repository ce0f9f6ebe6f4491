package io.keybroker.api;

import io.keybroker.audit.AccessRecord.Decision;
import io.keybroker.backend.SecretFormatException;
import io.keybroker.backend.SecretLocation;
import io.keybroker.backend.SecretLocator;
import io.keybroker.cache.CacheHit;
import io.keybroker.cache.CachedSecret;
import io.keybroker.cache.EncryptedVersion;
import io.keybroker.cache.SecretCache;
import io.keybroker.cache.SecretUnavailableException;
import io.keybroker.rotation.RotationProperties;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

/**
 * Reads a granted secret through the cache for any endpoint, applies the grace window, and audits the outcome:
 * 404 for a granted name the backend lacks, 503 with {@code Retry-After} when the backend fails and no usable
 * cached copy is left, and the allow record with the versions served. The endpoints only render.
 */
@Component
public class SecretReader {

    private final SecretLocator locator;
    private final SecretCache cache;
    private final Duration gracePeriod;
    private final Clock clock;

    public SecretReader(SecretLocator locator, SecretCache cache, RotationProperties rotation, Clock clock) {
        this.locator = locator;
        this.cache = cache;
        this.gracePeriod = rotation.gracePeriod();
        this.clock = clock;
    }

    /**
     * What one response serves: the versions picked from one immutable cache entry, so current and previous
     * always belong together.
     *
     * @param location where the secret lives
     * @param secret the cache entry both versions come from
     * @param current the current version if granted, else {@code null}
     * @param previous the previous version if granted and inside the grace window, else {@code null}
     * @param source cache, backend or stale
     */
    public record Served(SecretLocation location, CachedSecret secret, EncryptedVersion current,
            EncryptedVersion previous, String source) {
    }

    public SecretLocation locate(SecretName name) {
        return locator.locate(name);
    }

    public Mono<Served> read(AccessAttempt attempt, SecretName name, List<Stage> granted) {
        SecretLocation location = locator.locate(name);
        return cache.get(location.backend())
                .switchIfEmpty(Mono.error(() -> attempt.refuse(Decision.NOT_FOUND, attempt.rule(),
                        "the backend has no such secret", ApiException.notFound(name + " is granted but "
                                + location.backend().backend() + " has no secret at " + location.backend().path()
                                + "; create it there, or fix keybroker.mappings"))))
                .onErrorMap(SecretUnavailableException.class, ex -> attempt.refuse(Decision.UNAVAILABLE,
                        attempt.rule(), "backend unavailable, no usable cached copy",
                        ApiException.unavailable(ex.getMessage(), ex.retryAfter())))
                .onErrorMap(SecretFormatException.class, ex -> attempt.refuse(Decision.UNAVAILABLE, attempt.rule(),
                        "stored value cannot be served as configured", new ApiException(HttpStatus.BAD_GATEWAY,
                                "Unusable secret", ex.getMessage())))
                .flatMap(hit -> serve(attempt, location, hit, granted));
    }

    private Mono<Served> serve(AccessAttempt attempt, SecretLocation location, CacheHit hit, List<Stage> granted) {
        CachedSecret secret = hit.secret();
        EncryptedVersion current = granted.contains(Stage.CURRENT) ? secret.current() : null;
        EncryptedVersion previous = granted.contains(Stage.PREVIOUS)
                ? secret.previousWithinGrace(clock.instant(), gracePeriod).orElse(null) : null;
        if (current == null && previous == null) {
            return Mono.error(attempt.refuse(Decision.NOT_FOUND, attempt.rule(),
                    "no previous version inside the grace window", ApiException.notFound(location.name()
                            + " has no previous version inside the grace window of " + gracePeriod
                            + ", and the policy grants only the previous stage")));
        }
        Map<String, String> versions = new LinkedHashMap<>();
        List<Stage> served = new ArrayList<>();
        if (current != null) {
            versions.put("current", current.version());
            served.add(Stage.CURRENT);
        }
        if (previous != null) {
            versions.put("previous", previous.version());
            served.add(Stage.PREVIOUS);
        }
        String source = hit.source().name().toLowerCase(Locale.ROOT);
        attempt.allowed(versions, source, served);
        return Mono.just(new Served(location, secret, current, previous, source));
    }
}
