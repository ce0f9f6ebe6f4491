package io.keybroker.cache;

import io.keybroker.backend.BackendLocation;
import io.keybroker.backend.BackendSecret;
import io.keybroker.backend.BackendUnavailableException;
import io.keybroker.backend.BackendVersion;
import io.keybroker.backend.ChangeMarker;
import io.keybroker.backend.SecretBackend;
import io.keybroker.secret.SecretValue;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * A backend in memory for unit tests of the cache logic only (integration tests use the real file backend):
 * counts calls, can fail, can hold reads until the test releases them, and remembers every value it handed out
 * so a test can check the cache wiped it.
 */
final class InMemorySecretBackend implements SecretBackend {

    record Version(String id, Instant createdAt, String value) {
    }

    record Call(String path, Instant at) {
    }

    private final String id;
    private final Clock clock;
    private final Map<String, List<Version>> secrets = new ConcurrentHashMap<>();
    final AtomicInteger reads = new AtomicInteger();
    final AtomicInteger markers = new AtomicInteger();
    final List<Call> markerCalls = new CopyOnWriteArrayList<>();
    final List<SecretValue> handedOut = new CopyOnWriteArrayList<>();
    private volatile RuntimeException failure;
    private volatile Sinks.Empty<Void> gate;

    InMemorySecretBackend(String id, Clock clock) {
        this.id = id;
        this.clock = clock;
    }

    /** Appends a version; it becomes current. */
    InMemorySecretBackend put(String path, String version, Instant createdAt, String value) {
        secrets.compute(path, (p, list) -> {
            List<Version> next = list == null ? new ArrayList<>() : new ArrayList<>(list);
            next.add(new Version(version, createdAt, value));
            return List.copyOf(next);
        });
        return this;
    }

    void delete(String path) {
        secrets.remove(path);
    }

    void failWith(RuntimeException failure) {
        this.failure = failure;
    }

    void heal() {
        this.failure = null;
    }

    /** From now on, reads wait until {@link #release()}. */
    void holdReads() {
        gate = Sinks.empty();
    }

    void release() {
        Sinks.Empty<Void> held = gate;
        gate = null;
        held.tryEmitEmpty();
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public Mono<io.keybroker.backend.StagedVersion> stage(BackendLocation location,
            io.keybroker.secret.SecretValue value, io.keybroker.backend.WriteRequest request) {
        return Mono.error(new io.keybroker.backend.WriteRefusedException("a test double takes no writes"));
    }

    @Override
    public Mono<io.keybroker.backend.PromotedVersion> promote(io.keybroker.backend.StagedVersion staged,
            io.keybroker.secret.SecretValue value) {
        return Mono.error(new io.keybroker.backend.WriteRefusedException("a test double takes no writes"));
    }

    @Override
    public Mono<String> discard(io.keybroker.backend.StagedVersion staged) {
        return Mono.error(new io.keybroker.backend.WriteRefusedException("a test double takes no writes"));
    }

    @Override
    public Mono<java.util.List<String>> list(String prefix) {
        return Mono.fromSupplier(() -> secrets.keySet().stream().filter(path -> path.startsWith(prefix)).sorted()
                .toList());
    }

    @Override
    public Mono<BackendSecret> read(BackendLocation location) {
        return Mono.defer(() -> {
            reads.incrementAndGet();
            Mono<BackendSecret> answer = Mono.defer(() -> {
                if (failure != null) {
                    return Mono.error(failure);
                }
                List<Version> versions = secrets.get(location.path());
                if (versions == null) {
                    return Mono.empty();
                }
                Version current = versions.get(versions.size() - 1);
                Version previous = versions.size() > 1 ? versions.get(versions.size() - 2) : null;
                return Mono.just(new BackendSecret(version(current), previous == null ? null : version(previous),
                        marker(versions)));
            });
            Sinks.Empty<Void> held = gate;
            return held == null ? answer : held.asMono().then(answer);
        });
    }

    private BackendVersion version(Version version) {
        SecretValue value = SecretValue.adopt(version.value().getBytes(StandardCharsets.UTF_8));
        handedOut.add(value);
        return new BackendVersion(version.id(), version.createdAt(), value);
    }

    private static ChangeMarker marker(List<Version> versions) {
        return new ChangeMarker(versions.stream().map(v -> v.id() + "@" + v.createdAt())
                .collect(Collectors.joining(",")));
    }

    @Override
    public Mono<ChangeMarker> marker(BackendLocation location) {
        return Mono.defer(() -> {
            markers.incrementAndGet();
            markerCalls.add(new Call(location.path(), clock.instant()));
            if (failure != null) {
                return Mono.error(failure);
            }
            List<Version> versions = secrets.get(location.path());
            return versions == null ? Mono.empty() : Mono.just(marker(versions));
        });
    }

    @Override
    public Mono<Void> checkHealth() {
        return failure == null ? Mono.empty() : Mono.error(failure);
    }

    static BackendUnavailableException outage(String id) {
        return new BackendUnavailableException(id, id + " is unreachable at test-host:1 (connection refused)");
    }
}
