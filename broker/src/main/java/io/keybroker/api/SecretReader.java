package io.keybroker.api;

import io.keybroker.audit.AccessRecord.Decision;
import io.keybroker.backend.SecretLocation;
import io.keybroker.backend.SecretLocator;
import io.keybroker.cache.CacheLookup;
import io.keybroker.cache.CachedSecret;
import io.keybroker.cache.EncryptedVersion;
import io.keybroker.cache.SecretCache;
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
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

/**
 * Reads a granted secret through the cache for any endpoint and applies the grace window. Failures travel as
 * exceptions to {@link AccessEdge}, which maps and audits them ({@link Outcomes}): 404 for a granted name the
 * backend lacks, 503 with {@code Retry-After} when the backend fails and no usable cached copy is left, 502 for
 * a stored value that cannot be served. The endpoint records what it finally hands out
 * ({@link Served#recordAllowed}), so nothing that is not sent is recorded as served.
 */
@Component
public class SecretReader {

    private static final Logger log = LoggerFactory.getLogger(SecretReader.class);

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
    public record Served(SecretLocation location, CachedSecret secret, @Nullable EncryptedVersion current,
            @Nullable EncryptedVersion previous, String source) {

        /** Records an allow for exactly the versions given (those the response hands out). */
        public void recordAllowed(AccessAttempt attempt, EncryptedVersion... sent) {
            Map<String, String> versions = new LinkedHashMap<>();
            List<Stage> stages = new ArrayList<>();
            for (EncryptedVersion version : sent) {
                if (version == null) {
                    continue;
                }
                Stage stage = version == current ? Stage.CURRENT : Stage.PREVIOUS;
                versions.put(stage.id(), version.version());
                stages.add(stage);
            }
            attempt.allowed(versions, source, stages);
        }
    }

    /** The 404 of a granted name the backend lacks: the one wording, without the backend path. */
    static ApiException absent(AccessAttempt attempt, SecretName name) {
        return attempt.refuse(Decision.NOT_FOUND, attempt.rule(), "the backend has no such secret",
                ApiException.notFound(name + " is granted but does not exist in the backend; create it there, or "
                        + "have an operator check keybroker.mappings (the broker log names the location under "
                        + "request " + attempt.requestId() + ")"));
    }

    /** The environment this broker serves, for answers that name a secret the way its protocol expects. */
    public String environment() {
        return locator.environment();
    }

    /** @throws io.keybroker.backend.AliasedNameException when another logical name owns the location */
    public SecretLocation locate(SecretName name) {
        return locator.locate(name);
    }

    /** The logical names that own the secret at {@code path} of {@code backend}; see {@link SecretLocator#namesAt}. */
    public List<SecretName> namesAt(String backend, String path) {
        return locator.namesAt(backend, path);
    }

    /**
     * Like {@link #read}, but from a backend read made now: an error when the backend fails, never an older
     * copy, because the caller asked for what the backend has (the agent's {@code refreshNow=true}).
     */
    public Mono<Served> readFresh(AccessAttempt attempt, SecretName name, List<Stage> granted) {
        SecretLocation location = locator.locate(name);
        return cache.refresh(location.backend())
                .switchIfEmpty(Mono.error(() -> absent(attempt, name)))
                .flatMap(hit -> serve(attempt, location, hit, granted));
    }

    public Mono<Served> read(AccessAttempt attempt, SecretName name, List<Stage> granted) {
        SecretLocation location = locator.locate(name);
        return cache.get(location.backend())
                .switchIfEmpty(Mono.error(() -> {
                    log.info("request {}: {} is granted but {} has none", attempt.requestId(), name,
                            location.backend());
                    return absent(attempt, name);
                }))
                .flatMap(hit -> serve(attempt, location, hit, granted));
    }

    /**
     * Like {@link #read}, but from memory only and at once: the versions to serve when the cache holds a usable
     * entry with something granted to serve; empty otherwise (a miss, an absence, a failure, nothing inside the
     * grace window), when {@link #read} gives the answer.
     */
    public Optional<Served> readIfCached(SecretName name, List<Stage> granted) {
        SecretLocation location = locator.locate(name);
        return cache.getIfPresent(location.backend()).map(hit -> pick(location, hit, granted));
    }

    private Mono<Served> serve(AccessAttempt attempt, SecretLocation location, CacheLookup hit, List<Stage> granted) {
        Served served = pick(location, hit, granted);
        if (served == null) {
            return Mono.error(attempt.refuse(Decision.NOT_FOUND, attempt.rule(),
                    "no previous version inside the grace window", ApiException.notFound(location.name()
                            + " has no previous version inside the grace window of " + gracePeriod
                            + ", and the policy grants only the previous stage")));
        }
        return Mono.just(served);
    }

    /** The granted versions of one entry, the previous one only inside the grace window; null when none is left. */
    private @Nullable Served pick(SecretLocation location, CacheLookup hit, List<Stage> granted) {
        CachedSecret secret = hit.secret();
        EncryptedVersion current = granted.contains(Stage.CURRENT) ? secret.current() : null;
        EncryptedVersion previous = granted.contains(Stage.PREVIOUS)
                ? secret.previousWithinGrace(clock.instant(), gracePeriod).orElse(null) : null;
        if (current == null && previous == null) {
            return null;
        }
        return new Served(location, secret, current, previous, hit.source().name().toLowerCase(Locale.ROOT));
    }
}
