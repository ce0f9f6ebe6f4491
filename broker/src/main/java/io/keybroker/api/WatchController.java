package io.keybroker.api;

import io.keybroker.backend.BackendLocation;
import io.keybroker.cache.SecretCache;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;
import java.time.Duration;
import io.keybroker.identity.WorkloadIdentities;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.context.event.EventListener;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * {@code GET /v1/watch?name=a&name=b}: a Server-Sent Events stream of {@code rotated} events for granted names,
 * with the versions and the time, never a value. Every name must be granted (any stage) or the whole request is
 * refused, so a watch cannot probe which names exist. Comment heartbeats keep proxies from closing an idle
 * stream; the stream completes cleanly when the broker shuts down.
 *
 * <p><b>Revocation reaches open streams.</b> A stream outlives the checks made when it opened, so it repeats
 * them: before each event it sends, and every {@link #RECHECK}. When the policy no longer grants one of the
 * names, the client certificate expired, or its CA left the trust bundle, the stream sends one {@code revoked}
 * event with the reason and ends; the client reconnects and meets the ordinary checks.
 */
@RestController
public class WatchController {

    static final Duration HEARTBEAT = Duration.ofSeconds(15);
    static final Duration RECHECK = Duration.ofSeconds(1);
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(WatchController.class);
    private static final int MAX_NAMES = 100;

    private final AccessControl access;
    private final SecretReader reader;
    private final SecretCache cache;
    private final WorkloadIdentities identities;
    private final Sinks.Empty<Void> shutdown = Sinks.empty();

    public WatchController(AccessControl access, SecretReader reader, SecretCache cache,
            WorkloadIdentities identities) {
        this.access = access;
        this.reader = reader;
        this.cache = cache;
        this.identities = identities;
    }

    @GetMapping(path = "/v1/watch", produces = "text/event-stream")
    public Flux<ServerSentEvent<Map<String, Object>>> watch(ServerWebExchange exchange) {
        return Flux.defer(() -> {
            AccessAttempt attempt = access.begin(exchange, "watch");
            List<String> raw = exchange.getRequest().getQueryParams().getOrDefault("name", List.of());
            if (raw.isEmpty() || raw.size() > MAX_NAMES) {
                throw attempt.refuse(io.keybroker.audit.AccessRecord.Decision.INVALID, null, "bad name list",
                        ApiException.badRequest("give 1 to " + MAX_NAMES + " names: /v1/watch?name=a&name=b"));
            }
            Map<BackendLocation, SecretName> watched = new LinkedHashMap<>();
            List<AccessAttempt> attempts = new ArrayList<>();
            for (String one : raw) {
                AccessAttempt each = attempts.isEmpty() ? attempt : attempt.next();
                SecretName name = access.name(each, one);
                access.authorize(each, name, EnumSet.allOf(Stage.class));
                watched.put(reader.locate(name).backend(), name);
                attempts.add(each);
            }
            attempts.forEach(a -> a.allowed(Map.of(), null, List.of()));
            // rotations(locations) keeps the watched secrets loaded and polled for as long as the stream is open.
            Supplier<Optional<String>> revocation = () -> revocation(exchange, attempt, watched.values());
            Mono<String> revoked = Flux.interval(RECHECK)
                    .map(tick -> revocation.get())
                    .filter(Optional::isPresent).map(Optional::get)
                    .next()
                    .doOnNext(reason -> log.info("watch request {} of {} ended: {}", attempt.requestId(),
                            attempt.identity().text(), reason))
                    .cache();
            Flux<ServerSentEvent<Map<String, Object>>> events = cache.rotations(watched.keySet())
                    // Never send an event the caller is no longer entitled to, even between two checks.
                    .filter(event -> revocation.get().isEmpty())
                    .map(event -> {
                        Map<String, Object> data = new LinkedHashMap<>();
                        data.put("name", watched.get(event.location()).value());
                        data.put("currentVersion", event.currentVersion());
                        data.put("previousVersion", event.previousVersion());
                        data.put("rotatedAt", event.rotatedAt().toString());
                        return ServerSentEvent.<Map<String, Object>>builder(data).event("rotated")
                                .id(event.currentVersion()).build();
                    });
            Flux<ServerSentEvent<Map<String, Object>>> heartbeats = Flux.interval(HEARTBEAT)
                    .map(tick -> ServerSentEvent.<Map<String, Object>>builder().comment("heartbeat").build());
            ServerSentEvent<Map<String, Object>> open = ServerSentEvent.<Map<String, Object>>builder()
                    .comment("watching " + watched.size() + " secret(s)").build();
            return Flux.just(open)
                    .concatWith(Flux.merge(events, heartbeats).takeUntilOther(revoked))
                    .concatWith(revoked.map(reason -> ServerSentEvent.<Map<String, Object>>builder(
                            Map.<String, Object>of("reason", reason)).event("revoked").build()))
                    .takeUntilOther(shutdown.asMono());
        });
    }

    private Optional<String> revocation(ServerWebExchange exchange, AccessAttempt attempt,
            Collection<SecretName> names) {
        Optional<String> untrusted = identities.revocation(exchange);
        if (untrusted.isPresent()) {
            return untrusted;
        }
        for (SecretName name : names) {
            if (!access.stillGranted(attempt.identity(), name)) {
                return Optional.of("the policy no longer grants " + name + " to " + attempt.identity().text());
            }
        }
        return Optional.empty();
    }

    @EventListener
    void onShutdown(ContextClosedEvent event) {
        shutdown.tryEmitEmpty();
    }
}
