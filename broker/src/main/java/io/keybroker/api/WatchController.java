package io.keybroker.api;

import io.keybroker.audit.AccessRecord.Decision;
import io.keybroker.backend.BackendLocation;
import io.keybroker.cache.SecretCache;
import io.keybroker.cache.Watch;
import io.keybroker.cache.WatchCapacityException;
import io.keybroker.config.ConfigurationProblemException;
import io.keybroker.identity.WorkloadIdentity;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
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
 *
 * <p><b>One workload cannot make the broker read without end.</b> A stream keeps its names loaded and polled for
 * as long as it is open, so it costs more than a read: each identity holds at most
 * {@code keybroker.watch.max-streams-per-identity} streams (429 beyond), a stream names at most
 * {@code keybroker.watch.max-names} (400 beyond), and each name costs one request of the workload's rate limit.
 * All streams together keep at most half of {@code keybroker.cache.max-size} loaded (503 beyond), and names the
 * backend lacks are re-read with a growing back-off. Every refusal goes through the edge with its own record.
 */
@RestController
public class WatchController {

    static final Duration HEARTBEAT = Duration.ofSeconds(15);
    static final Duration RECHECK = Duration.ofSeconds(1);
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(WatchController.class);
    private static final Duration STREAMS_RETRY_AFTER = Duration.ofSeconds(5);

    private final AccessControl access;
    private final SecretReader reader;
    private final SecretCache cache;
    private final WorkloadIdentities identities;
    private final int maxStreams;
    private final int maxNames;
    /** Open streams per identity; an identity leaves the map with its last stream, so it holds only live ones. */
    private final ConcurrentHashMap<String, Integer> open = new ConcurrentHashMap<>();
    private final Sinks.Empty<Void> shutdown = Sinks.empty();

    public WatchController(AccessControl access, SecretReader reader, SecretCache cache,
            WorkloadIdentities identities, WatchProperties properties) {
        this.access = access;
        this.reader = reader;
        this.cache = cache;
        this.identities = identities;
        List<String> problems = new ArrayList<>();
        if (properties.maxStreamsPerIdentity() < 1) {
            problems.add("keybroker.watch.max-streams-per-identity is " + properties.maxStreamsPerIdentity()
                    + ": it must be at least 1");
        }
        if (properties.maxNames() < 1) {
            problems.add("keybroker.watch.max-names is " + properties.maxNames() + ": it must be at least 1");
        }
        if (!problems.isEmpty()) {
            throw new ConfigurationProblemException(problems);
        }
        this.maxStreams = properties.maxStreamsPerIdentity();
        this.maxNames = properties.maxNames();
    }

    @GetMapping(path = "/v1/watch", produces = "text/event-stream")
    public Flux<ServerSentEvent<Map<String, Object>>> watch(ServerWebExchange exchange) {
        return Flux.defer(() -> {
            AccessAttempt attempt = access.begin(exchange, "watch");
            List<String> raw = exchange.getRequest().getQueryParams().getOrDefault("name", List.of());
            if (raw.isEmpty() || raw.size() > maxNames) {
                throw attempt.refuse(Decision.INVALID, "watch-names", "bad name list: " + raw.size() + " names",
                        ApiException.badRequest("give 1 to " + maxNames + " names: /v1/watch?name=a&name=b "
                                + "(keybroker.watch.max-names); open another stream for more"));
            }
            access.charge(attempt, raw.size() - 1, "a watch of " + raw.size() + " names costs " + raw.size()
                    + " requests");
            Runnable closeStream = openStream(attempt);
            Watch watch = null;
            try {
                Map<BackendLocation, SecretName> watched = new LinkedHashMap<>();
                List<AccessAttempt> attempts = new ArrayList<>();
                for (String one : raw) {
                    AccessAttempt each = attempts.isEmpty() ? attempt : attempt.next();
                    SecretName name = access.name(each, one);
                    access.authorize(each, name, EnumSet.allOf(Stage.class));
                    watched.put(reader.locate(name).backend(), name);
                    attempts.add(each);
                }
                try {
                    // Keeps the watched secrets loaded and polled until closed; taken before anything is recorded
                    // as allowed, so a watch the cache cannot hold ends in one refusal, not in allow records.
                    watch = cache.watch(watched.keySet());
                } catch (WatchCapacityException full) {
                    log.warn("watch request {} of {} refused: {}", attempt.requestId(), attempt.identity().text(),
                            full.getMessage());
                    throw attempts.get(attempts.size() - 1).refuse(Decision.UNAVAILABLE, "watch-capacity",
                            "watch streams keep as many secrets loaded as the cache allows",
                            ApiException.unavailable("the broker watches as many secrets as it can hold; read the "
                                    + "secrets instead, or retry once other watch streams closed (an operator can "
                                    + "raise keybroker.cache.max-size)", STREAMS_RETRY_AFTER));
                }
                attempts.forEach(a -> a.allowed(Map.of(), null, List.of()));
                Watch held = watch;
                return stream(exchange, attempt, watched, held)
                        .doFinally(signal -> {
                            held.close();
                            closeStream.run();
                        });
            } catch (RuntimeException ex) {
                if (watch != null) {
                    watch.close();
                }
                closeStream.run();
                throw ex;
            }
        });
    }

    /**
     * Counts a stream against the caller's bound.
     * @return what ends the count (idempotent)
     * @throws ApiException 429 when the caller already holds the most streams (audited)
     */
    private Runnable openStream(AccessAttempt attempt) {
        WorkloadIdentity identity = attempt.identity();
        AtomicBoolean counted = new AtomicBoolean();
        open.compute(identity.text(), (key, n) -> {
            int streams = n == null ? 0 : n;
            if (streams >= maxStreams) {
                return n;
            }
            counted.set(true);
            return streams + 1;
        });
        if (!counted.get()) {
            throw attempt.refuse(Decision.RATE_LIMITED, "watch-streams", "already " + maxStreams
                    + " open watch streams", ApiException.tooManyRequests(identity.text() + " already holds "
                            + maxStreams + " open watch streams, the most one workload may (keybroker.watch."
                            + "max-streams-per-identity); close one, or watch several names in one stream",
                            STREAMS_RETRY_AFTER));
        }
        AtomicBoolean closed = new AtomicBoolean();
        return () -> {
            if (closed.compareAndSet(false, true)) {
                open.computeIfPresent(identity.text(), (key, n) -> n <= 1 ? null : n - 1);
            }
        };
    }

    /** The number of watch streams the identity holds open now. */
    int openStreams(WorkloadIdentity identity) {
        return open.getOrDefault(identity.text(), 0);
    }

    private Flux<ServerSentEvent<Map<String, Object>>> stream(ServerWebExchange exchange, AccessAttempt attempt,
            Map<BackendLocation, SecretName> watched, Watch watch) {
        Supplier<Optional<String>> revocation = () -> revocation(exchange, attempt, watched.values());
        Mono<String> revoked = Flux.interval(RECHECK)
                .map(tick -> revocation.get())
                .filter(Optional::isPresent).map(Optional::get)
                .next()
                .doOnNext(reason -> log.info("watch request {} of {} ended: {}", attempt.requestId(),
                        attempt.identity().text(), reason))
                .cache();
        Flux<ServerSentEvent<Map<String, Object>>> events = watch.events()
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
        ServerSentEvent<Map<String, Object>> opening = ServerSentEvent.<Map<String, Object>>builder()
                .comment("watching " + watched.size() + " secret(s)").build();
        return Flux.just(opening)
                .concatWith(Flux.merge(events, heartbeats).takeUntilOther(revoked))
                .concatWith(revoked.map(reason -> ServerSentEvent.<Map<String, Object>>builder(
                        Map.<String, Object>of("reason", reason)).event("revoked").build()))
                .takeUntilOther(shutdown.asMono());
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
