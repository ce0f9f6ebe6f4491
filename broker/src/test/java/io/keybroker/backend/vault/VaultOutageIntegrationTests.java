package io.keybroker.backend.vault;

import static io.keybroker.backend.vault.VaultFixtures.location;
import static io.keybroker.backend.vault.VaultFixtures.properties;
import static io.keybroker.backend.vault.VaultFixtures.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keybroker.backend.BackendUnavailableException;
import io.keybroker.testsupport.OpenBaoServer;
import io.keybroker.testsupport.ToxiproxyServer;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;

/**
 * Vault going away and coming back, and Vault being slow: a real OpenBao that the test stops and restarts, and a
 * real Toxiproxy between the broker and OpenBao that adds latency.
 */
class VaultOutageIntegrationTests {

    private static final Duration WAIT = Duration.ofSeconds(30);

    private OpenBaoServer server;
    private ToxiproxyServer toxiproxy;
    private VaultConnection connection;

    @AfterEach
    void stop() {
        if (connection != null) {
            connection.close();
        }
        if (toxiproxy != null) {
            toxiproxy.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @Test
    void shouldFailWithAMessageNamingTheAddressWhileVaultIsDownAndRecoverWithoutANewBackend() {
        server = OpenBaoServer.start("outage");
        seed("sk_before");
        connection = VaultConnection.create(VaultFixtures.appRole(server.address()), properties());
        VaultSecretBackend backend = new VaultSecretBackend(connection, Clock.systemUTC());
        assertThat(text(backend.read(location("prod/outage/key")).block(WAIT).current().value())).isEqualTo("sk_before");

        server.stop();

        assertThatThrownBy(() -> backend.read(location("prod/outage/key")).block(WAIT))
                .isInstanceOf(BackendUnavailableException.class)
                .hasMessageContaining("cannot connect to Vault at " + server.address())
                .hasMessageContaining("spring.cloud.vault.uri")
                .hasMessageContaining("secret/metadata/prod/outage/key")
                .hasMessageNotContaining("sk_before")
                .hasMessageNotContaining(VaultFixtures.SECRET_ID);
        assertThatThrownBy(() -> backend.marker(location("prod/outage/key")).block(WAIT))
                .isInstanceOf(BackendUnavailableException.class)
                .hasMessageContaining("cannot connect to Vault at " + server.address());
        assertThatThrownBy(() -> backend.checkHealth().block(WAIT))
                .isInstanceOf(BackendUnavailableException.class)
                .hasMessageContaining("spring.cloud.vault.uri");

        // Back on the same address. A dev server starts empty: seed the same role again; the broker's old token
        // means nothing to it, so the broker has to notice and log in again by itself.
        server.start();
        seed("sk_after");

        assertThat(text(backend.read(location("prod/outage/key")).block(WAIT).current().value())).isEqualTo("sk_after");
        backend.checkHealth().block(WAIT);
    }

    @Test
    void shouldTimeOutAgainstASlowVaultWithinTheConfiguredTimeoutAndRecoverWhenItIsFastAgain() {
        server = OpenBaoServer.start("slow");
        seed("sk_slow");
        toxiproxy = ToxiproxyServer.start();
        int proxyPort = toxiproxy.proxy("vault", "127.0.0.1:" + server.port());
        connection = VaultConnection.create(VaultFixtures.appRole("http://127.0.0.1:" + proxyPort),
                properties(Duration.ofSeconds(1)));
        VaultSecretBackend backend = new VaultSecretBackend(connection, Clock.systemUTC());
        assertThat(text(backend.read(location("prod/outage/key")).block(WAIT).current().value())).isEqualTo("sk_slow");

        toxiproxy.addLatency("vault", Duration.ofMillis(2000));

        StepVerifier.create(backend.read(location("prod/outage/key")))
                .expectErrorSatisfies(error -> assertThat(error)
                        .isInstanceOf(BackendUnavailableException.class)
                        .hasMessageContaining("did not answer within 1000 ms")
                        .hasMessageContaining("keybroker.vault.timeout")
                        .hasMessageContaining("secret/metadata/prod/outage/key"))
                .verify(WAIT);
        StepVerifier.create(backend.marker(location("prod/outage/key")))
                .expectError(BackendUnavailableException.class)
                .verify(WAIT);

        toxiproxy.removeLatency("vault");

        assertThat(text(backend.read(location("prod/outage/key")).block(WAIT).current().value())).isEqualTo("sk_slow");
    }

    private void seed(String value) {
        OpenBaoServer.Admin admin = server.admin();
        VaultFixtures.seedBrokerAccess(admin);
        admin.kvPut("prod/outage/key", Map.of("value", value));
    }
}
