package io.keybroker.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keybroker.backend.BackendLocation;
import io.keybroker.backend.SecretBackends;
import io.keybroker.backend.file.FileSecretBackend;
import io.keybroker.cache.CacheLookup.Source;
import io.keybroker.rotation.RotationProperties;
import io.keybroker.testsupport.PlaintextGraphSearch;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.Disposable;
import reactor.core.scheduler.Schedulers;

/**
 * The cache over the real file backend, in real time: a version appended to the file reaches the cache's
 * entries and its rotation stream by polling alone, and neither the cache nor the backend keeps a plaintext.
 */
class CacheWithFileBackendIntegrationTests {

    private static final BackendLocation KEY = BackendLocation.of("file", "prod/stripe/secret-key");
    private static final String OLD = "sk_test_old_4eC39HqLyjWDarjtT1zdp7dc";
    private static final String NEW = "sk_test_new_51HxYzAbCdEfGhIjKlMn";
    private static final String NEWEST = "sk_test_newest_9ZyXwVuTsRqPoNm";

    @TempDir
    Path dir;

    private FileSecretBackend backend;
    private EncryptedSecretCache cache;
    private final SecretCipher cipher = new SecretCipher();

    @AfterEach
    void close() {
        if (cache != null) {
            cache.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    private String plaintext(EncryptedVersion version) {
        return cipher.withPlaintext(version, bytes -> new String(bytes, StandardCharsets.UTF_8));
    }

    @Test
    void shouldPropagateAnAppendedVersionToTheCacheAndItsWatchers() throws IOException {
        Path file = dir.resolve("secrets.yaml");
        Files.writeString(file, """
                secrets:
                  prod/stripe/secret-key:
                    - version: "1"
                      value: %s
                      createdAt: 2026-08-20T10:00:00Z
                    - version: "2"
                      value: %s
                      createdAt: 2026-11-20T10:00:00Z
                """.formatted(OLD, NEW));
        backend = new FileSecretBackend(file, Duration.ofMillis(100));
        backend.start();
        cache = new EncryptedSecretCache(new SecretBackends(List.of(backend)), cipher,
                new CacheProperties(Duration.ofMinutes(5), Duration.ofMinutes(15), 100, Duration.ofSeconds(10),
                        Duration.ofMinutes(5), List.of()),
                new RotationProperties(Duration.ofMillis(200), Duration.ofDays(7), 0.2, Duration.ofSeconds(5)),
                new SimpleMeterRegistry(), Clock.systemUTC(), Schedulers.newSingle("test-cache", true), true,
                new Random());
        cache.start();
        List<RotationEvent> events = new CopyOnWriteArrayList<>();
        Watch watched = cache.watch(List.of(KEY));
        Disposable watch = watched.events().subscribe(events::add);

        CacheLookup first = cache.get(KEY).block();
        assertThat(first.secret().current().version()).isEqualTo("2");
        assertThat(plaintext(first.secret().current())).isEqualTo(NEW);
        assertThat(plaintext(first.secret().previous())).isEqualTo(OLD);

        Files.writeString(file, """
                    - version: "3"
                      value: %s
                      createdAt: 2026-11-27T10:00:00Z
                """.formatted(NEWEST), StandardOpenOption.APPEND);

        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                .until(() -> events.size() == 1);
        RotationEvent event = events.get(0);
        assertThat(event.currentVersion()).isEqualTo("3");
        assertThat(event.previousVersion()).isEqualTo("2");
        CacheLookup hit = cache.get(KEY).block();
        assertThat(hit.source()).isEqualTo(Source.CACHE);
        assertThat(hit.secret().current().version()).isEqualTo("3");
        assertThat(hit.secret().current().createdAt()).isEqualTo(Instant.parse("2026-11-27T10:00:00Z"));
        assertThat(plaintext(hit.secret().current())).isEqualTo(NEWEST);
        assertThat(plaintext(hit.secret().previous())).isEqualTo(NEW);
        assertThat(hit.secret().rotatedAt()).isEqualTo(event.rotatedAt());
        watch.dispose();
        watched.close();

        for (String value : List.of(OLD, NEW, NEWEST)) {
            assertThat(PlaintextGraphSearch.find(backend, value)).as("backend holds " + value).isEmpty();
            assertThat(PlaintextGraphSearch.find(cache, value)).as("cache holds " + value).isEmpty();
        }
    }
}
