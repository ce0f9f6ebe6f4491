package io.keybroker.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.backend.BackendLocation;
import io.keybroker.backend.SecretLocator;
import io.keybroker.config.KeybrokerProperties;
import io.keybroker.config.KeybrokerProperties.MappingProperties;
import io.keybroker.policy.PolicyLoader;
import io.keybroker.policy.PolicyStore;
import io.keybroker.testsupport.PolicyFixtures;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

class CacheWarmerTests {

    /** Records what was warmed; a location ending in /down fails as a backend would. */
    private static final class RecordingCache implements SecretCache {

        final Set<String> asked = ConcurrentHashMap.newKeySet();

        @Override
        public Mono<CacheLookup> get(BackendLocation location) {
            asked.add(location.path());
            if (location.path().endsWith("/down")) {
                return Mono.error(new IllegalStateException("backend down"));
            }
            return Mono.empty();
        }

        @Override
        public Mono<CacheLookup> refresh(BackendLocation location) {
            return get(location);
        }

        @Override
        public Flux<RotationEvent> rotations() {
            return Flux.never();
        }

        @Override
        public Watch watch(Collection<BackendLocation> locations) {
            throw new UnsupportedOperationException();
        }
    }

    @Test
    void shouldWarmEveryOtherNameWhenOneIsRefusedAsAnAliasOrFails(@TempDir Path dir) throws Exception {
        String policy = PolicyFixtures.policy("warm", """
                    - identity: spiffe://cluster.local/ns/a/sa/b
                      application: b
                      allow:
                        - secrets: [warm/aliased, warm/down, warm/one, warm/two, warm/three, warm/four, warm/five]
                          stages: [current]
                """);
        Files.writeString(dir.resolve("warm.yaml"), policy, StandardCharsets.UTF_8);
        // warm/field owns field a of prod/warm/aliased; the default name warm/aliased would reach the whole JSON.
        SecretLocator locator = SecretLocator.from(new KeybrokerProperties("prod", "file", false, Path.of("x"),
                List.of(new MappingProperties("warm/field", null, null, "{environment}/warm/aliased", "a", null))));
        RecordingCache cache = new RecordingCache();
        CacheWarmer warmer = new CacheWarmer(new PolicyStore(new PolicyLoader().load(dir)), locator, cache);

        // Before: the alias refusal, thrown while locating, ended the whole warm-up and was dropped as an error.
        // Completes (nothing here is loaded: the recording cache answers every name as absent).
        assertThat(warmer.warm().block()).isZero();
        assertThat(cache.asked).containsExactlyInAnyOrder("prod/warm/down", "prod/warm/one", "prod/warm/two",
                "prod/warm/three", "prod/warm/four", "prod/warm/five");
    }
}
