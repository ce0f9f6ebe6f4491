package io.keybroker.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Proxy;
import java.util.List;
import org.junit.jupiter.api.Test;

class SecretBackendsTests {

    /** Only the id matters to the registry; any other call fails the test. */
    private static SecretBackend named(String id) {
        return (SecretBackend) Proxy.newProxyInstance(SecretBackend.class.getClassLoader(),
                new Class<?>[] {SecretBackend.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "id" -> id;
                    case "toString" -> "backend " + id;
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> throw new UnsupportedOperationException(method.getName());
                });
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
