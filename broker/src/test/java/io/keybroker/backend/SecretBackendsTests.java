package io.keybroker.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

class SecretBackendsTests {

    private static SecretBackend named(String id) {
        return new SecretBackend() {
            @Override
            public String id() {
                return id;
            }

            @Override
            public Mono<BackendSecret> read(BackendLocation location) {
                return Mono.empty();
            }

            @Override
            public Mono<ChangeMarker> marker(BackendLocation location) {
                return Mono.empty();
            }

            @Override
            public Mono<java.util.List<String>> list(String prefix) {
                return Mono.just(java.util.List.of());
            }

            @Override
            public Mono<Void> checkHealth() {
                return Mono.empty();
            }
        };
    }

    @Test
    void shouldFindEachBackendByItsId() {
        SecretBackend file = named("file");
        SecretBackend vault = named("vault");
        SecretBackends backends = new SecretBackends(List.of(vault, file));

        assertThat(backends.get("file")).isSameAs(file);
        assertThat(backends.get("vault")).isSameAs(vault);
        assertThat(backends.ids()).containsExactly("file", "vault");
    }

    @Test
    void shouldNameTheIdAndThePropertiesForABackendThatIsNotConfigured() {
        SecretBackends backends = new SecretBackends(List.of(named("file")));

        assertThatThrownBy(() -> backends.get("aws")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("backend 'aws' is not configured")
                .hasMessageContaining("configured: file")
                .hasMessageContaining("keybroker.backend")
                .hasMessageContaining("keybroker.mappings");
    }

    @Test
    void shouldRefuseTwoBackendsWithOneId() {
        assertThatThrownBy(() -> new SecretBackends(List.of(named("vault"), named("vault"))))
                .hasMessageContaining("two backends claim the id 'vault'");
    }
}
