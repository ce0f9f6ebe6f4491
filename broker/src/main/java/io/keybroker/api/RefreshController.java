package io.keybroker.api;

import io.keybroker.audit.AccessRecord.Decision;
import io.keybroker.backend.SecretLocation;
import io.keybroker.cache.CacheLookup;
import io.keybroker.cache.CachedSecret;
import io.keybroker.cache.SecretCache;
import io.keybroker.cache.SecretUnavailableException;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;
import java.time.Duration;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

/**
 * {@code POST /v1/secrets/{name}/refresh}: re-read a granted secret from the backend now, for a client that
 * just got a 401 from Stripe with the current key. Rate-limited per secret
 * ({@code keybroker.rotation.refresh-min-interval}), so a crowd of failing clients turns into one backend read.
 * Answers the versions now cached, never a value.
 */
@RestController
public class RefreshController {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(RefreshController.class);

    private static final String SUFFIX = "/refresh";
    private final AccessControl access;
    private final SecretReader reader;
    private final SecretCache cache;
    private final RefreshGate gate;

    public RefreshController(AccessControl access, SecretReader reader, SecretCache cache, RefreshGate gate) {
        this.access = access;
        this.reader = reader;
        this.cache = cache;
        this.gate = gate;
    }

    @PostMapping("/v1/secrets/**")
    public Mono<ResponseEntity<Map<String, Object>>> refresh(ServerWebExchange exchange) {
        return Mono.defer(() -> {
            AccessAttempt attempt = access.begin(exchange, "refresh");
            String raw = SecretsController.rawName(exchange);
            if (!raw.endsWith(SUFFIX)) {
                throw attempt.refuse(Decision.INVALID, null, "POST to a secret without /refresh",
                        new ApiException(HttpStatus.METHOD_NOT_ALLOWED, "Method not allowed",
                                "secrets are read with GET; POST only to /v1/secrets/{name}/refresh"));
            }
            SecretName name = access.name(attempt, raw.substring(0, raw.length() - SUFFIX.length()));
            List<Stage> granted = access.authorize(attempt, name, EnumSet.allOf(Stage.class));
            SecretLocation location = reader.locate(name);
            Duration wait = gate.reserve(location.backend());
            if (!wait.isZero()) {
                throw attempt.refuse(Decision.RATE_LIMITED, attempt.rule(), "refresh of this secret too soon",
                        ApiException.tooManyRequests(name + " was refreshed less than " + gate.minInterval()
                                + " ago; the broker already has what the backend has", wait));
            }
            return cache.refresh(location.backend())
                    .switchIfEmpty(Mono.error(() -> SecretReader.absent(attempt, name)))
                    .onErrorResume(SecretUnavailableException.class, failed -> stillServed(attempt, name, location,
                            failed))
                    .map(hit -> {
                        CachedSecret secret = hit.secret();
                        // A refresh hands out no value, so its record names no version as served.
                        attempt.allowed(Map.of(), "backend", granted);
                        Map<String, Object> body = new LinkedHashMap<>();
                        body.put("name", name.value());
                        body.put("currentVersion", secret.current().version());
                        body.put("previousVersion", secret.previous() == null ? null : secret.previous().version());
                        body.put("rotatedAt", secret.rotatedAt().toString());
                        return ResponseEntity.ok().contentType(MediaType.APPLICATION_JSON)
                                .header("Cache-Control", "no-store").body(body);
                    });
        });
    }

    /**
     * The backend could not be re-read. When the cache still serves a copy, say so instead of claiming there is
     * none: the refresh failed, GET still answers with the cached versions.
     */
    private Mono<CacheLookup> stillServed(AccessAttempt attempt, SecretName name, SecretLocation location,
            SecretUnavailableException failed) {
        log.warn("request {}: refresh of {} failed: {}", attempt.requestId(), name, failed.getMessage());
        return cache.get(location.backend())
                .onErrorResume(ex -> Mono.empty())
                .flatMap(hit -> Mono.<CacheLookup>error(attempt.refuse(Decision.UNAVAILABLE, attempt.rule(),
                        "backend unavailable for the refresh; cached copy still served",
                        ApiException.unavailable(name + " could not be re-read from its backend now; GET still "
                                + "serves the cached copy (current version " + hit.secret().current().version()
                                + "). Retry the refresh after the Retry-After delay; the broker log has the cause "
                                + "under request " + attempt.requestId(), failed.retryAfter()))))
                .switchIfEmpty(Mono.error(failed));
    }
}
