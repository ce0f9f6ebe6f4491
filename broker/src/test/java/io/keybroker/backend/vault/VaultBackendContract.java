package io.keybroker.backend.vault;

import static io.keybroker.backend.vault.VaultFixtures.appRole;
import static io.keybroker.backend.vault.VaultFixtures.location;
import static io.keybroker.backend.vault.VaultFixtures.properties;
import static io.keybroker.backend.vault.VaultFixtures.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keybroker.backend.BackendSecret;
import io.keybroker.backend.BackendUnavailableException;
import io.keybroker.backend.ChangeMarker;
import io.keybroker.backend.SecretFormatException;
import io.keybroker.testsupport.OpenBaoServer.Admin;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;

/**
 * What the vault backend does against any real Vault API with a root token to set it up: OpenBao
 * ({@link VaultSecretBackendIntegrationTests}) and HashiCorp Vault in a container
 * ({@link HashiCorpVaultSecretBackendIntegrationTests}). The broker itself always runs on the least-privilege
 * policy of docs/vault.md, through an AppRole or a token that carries only that policy.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class VaultBackendContract {

    static final Duration WAIT = Duration.ofSeconds(30);

    private VaultConnection connection;
    private VaultSecretBackend backend;
    private String prefix;

    /** Vault's address, e.g. http://127.0.0.1:8200. */
    abstract String address();

    /** An admin client with a root token. */
    abstract Admin admin();

    @BeforeAll
    void seedAndConnect() {
        VaultFixtures.seedBrokerAccess(admin());
        connection = VaultConnection.create(appRole(address()), properties());
        backend = new VaultSecretBackend(connection, Clock.systemUTC());
    }

    /** Stops the Vault server, if the test started one. */
    abstract void stopPeer();

    @AfterAll
    void disconnectAndStop() {
        try {
            if (connection != null) {
                connection.close();
            }
        } finally {
            stopPeer();
        }
    }

    @org.junit.jupiter.api.BeforeEach
    void pathPrefix(TestInfo test) {
        prefix = "prod/" + test.getTestMethod().orElseThrow().getName().toLowerCase().replaceAll("[^a-z0-9]", "-");
    }

    VaultSecretBackend backend() {
        return backend;
    }

    VaultConnection connection() {
        return connection;
    }

    @Test
    void shouldReadCurrentAndPreviousVersionsThroughAnAppRoleOnTheLeastPrivilegePolicy() {
        String path = prefix + "/stripe/secret-key";
        admin().kvPut(path, Map.of("value", "sk_test_old"));
        admin().kvPut(path, Map.of("value", "sk_test_new"));

        BackendSecret secret = backend.read(location(path)).block(WAIT);

        assertThat(secret).isNotNull();
        assertThat(secret.current().version()).isEqualTo("2");
        assertThat(text(secret.current().value())).isEqualTo("sk_test_new");
        assertThat(secret.previous().version()).isEqualTo("1");
        assertThat(text(secret.previous().value())).isEqualTo("sk_test_old");
        var versions = admin().call("GET", "secret/metadata/" + path, null).path("data").path("versions");
        assertThat(secret.current().createdAt())
                .isEqualTo(Instant.parse(versions.path("2").path("created_time").asString()));
        assertThat(secret.previous().createdAt())
                .isEqualTo(Instant.parse(versions.path("1").path("created_time").asString()));
        assertThat(secret.marker()).isEqualTo(backend.marker(location(path)).block(WAIT));
        secret.wipe();
    }

    @Test
    void shouldServeOnlyTheCurrentVersionWhenThereIsNoOlderLiveVersion() {
        String path = prefix + "/key";
        admin().kvPut(path, Map.of("value", "only"));

        BackendSecret secret = backend.read(location(path)).block(WAIT);

        assertThat(secret.current().version()).isEqualTo("1");
        assertThat(secret.previous()).isNull();
    }

    @Test
    void shouldSkipDeletedAndDestroyedVersions() {
        String path = prefix + "/key";
        for (String value : List.of("v1", "v2", "v3", "v4")) {
            admin().kvPut(path, Map.of("value", value));
        }
        admin().kvDelete(path, 4);
        admin().kvDestroy(path, 2);

        BackendSecret secret = backend.read(location(path)).block(WAIT);
        assertThat(secret.current().version()).isEqualTo("3");
        assertThat(text(secret.current().value())).isEqualTo("v3");
        assertThat(secret.previous().version()).isEqualTo("1");
        assertThat(text(secret.previous().value())).isEqualTo("v1");

        admin().kvDelete(path, 3);
        BackendSecret afterDelete = backend.read(location(path)).block(WAIT);
        assertThat(afterDelete.current().version()).isEqualTo("1");
        assertThat(afterDelete.previous()).isNull();

        admin().kvUndelete(path, 4);
        BackendSecret afterUndelete = backend.read(location(path)).block(WAIT);
        assertThat(afterUndelete.current().version()).isEqualTo("4");
        assertThat(afterUndelete.previous().version()).isEqualTo("1");
    }

    @Test
    void shouldMoveTheMarkerOnRotationAndServeTheOldKeyAsPrevious() {
        String path = prefix + "/stripe/secret-key";
        admin().kvPut(path, Map.of("value", "sk_live_one"));
        admin().kvPut(path, Map.of("value", "sk_live_two"));
        ChangeMarker before = backend.marker(location(path)).block(WAIT);
        assertThat(backend.marker(location(path)).block(WAIT)).isEqualTo(before);

        admin().kvPut(path, Map.of("value", "sk_live_three"));

        ChangeMarker after = backend.marker(location(path)).block(WAIT);
        assertThat(after).isNotEqualTo(before);
        assertThat(after.value()).doesNotContain("sk_live");
        BackendSecret secret = backend.read(location(path)).block(WAIT);
        assertThat(secret.current().version()).isEqualTo("3");
        assertThat(text(secret.current().value())).isEqualTo("sk_live_three");
        assertThat(secret.previous().version()).isEqualTo("2");
        assertThat(text(secret.previous().value())).isEqualTo("sk_live_two");
        assertThat(secret.marker()).isEqualTo(after);
    }

    @Test
    void shouldMoveTheMarkerWhenTheCurrentVersionIsDeleted() {
        String path = prefix + "/key";
        admin().kvPut(path, Map.of("value", "a"));
        admin().kvPut(path, Map.of("value", "b"));
        ChangeMarker before = backend.marker(location(path)).block(WAIT);

        admin().kvDelete(path, 2);

        assertThat(backend.marker(location(path)).block(WAIT)).isNotEqualTo(before);
    }

    @Test
    void shouldPickTheConfiguredField() {
        String path = prefix + "/stripe";
        admin().kvPut(path, Map.of("value", "sk_default", "restricted", "rk_reporting", "count", 3));

        assertThat(text(backend.read(location(path)).block(WAIT).current().value())).isEqualTo("sk_default");
        assertThat(text(backend.read(location(path, "restricted")).block(WAIT).current().value()))
                .isEqualTo("rk_reporting");
        assertThat(text(backend.read(new io.keybroker.backend.BackendLocation("vault", path, null)).block(WAIT)
                .current().value())).as("keybroker.vault.default-field").isEqualTo("sk_default");
    }

    @Test
    void shouldKeepEveryByteOfAValueWithEscapesAndUnicode() {
        String path = prefix + "/key";
        String value = "sk_\"quoted\"\\back\nline\ttab é € 🔑 \u0001";
        admin().kvPut(path, Map.of("value", value));

        byte[] bytes = backend.read(location(path)).block(WAIT).current().value().bytes();

        assertThat(bytes).isEqualTo(value.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void shouldReportAMissingFieldNamingPathAndFieldButNotTheValue() {
        String path = prefix + "/key";
        admin().kvPut(path, Map.of("key", "sk_live_must_not_leak"));

        assertThatThrownBy(() -> backend.read(location(path)).block(WAIT))
                .isInstanceOf(SecretFormatException.class)
                .hasMessageContaining("secret/data/" + path)
                .hasMessageContaining("'value'")
                .hasMessageContaining("its fields: key")
                .hasMessageNotContaining("sk_live_must_not_leak");
        assertThatThrownBy(() -> backend.read(location(path, "count")).block(WAIT))
                .isInstanceOf(SecretFormatException.class)
                .hasMessageContaining("'count'");
    }

    @Test
    void shouldReportAFieldThatIsNotAString() {
        String path = prefix + "/key";
        admin().kvPut(path, Map.of("value", Map.of("nested", "sk_live_nested")));

        assertThatThrownBy(() -> backend.read(location(path)).block(WAIT))
                .isInstanceOf(SecretFormatException.class)
                .hasMessageContaining("an object, not a string")
                .hasMessageNotContaining("sk_live_nested");
    }

    @Test
    void shouldAnswerEmptyForASecretThatDoesNotExist() {
        assertThat(backend.read(location(prefix + "/nothing")).blockOptional(WAIT)).isEmpty();
        assertThat(backend.marker(location(prefix + "/nothing")).blockOptional(WAIT)).isEmpty();
    }

    @Test
    void shouldAnswerEmptyWhenEveryVersionIsDeletedOrDestroyed() {
        String path = prefix + "/key";
        admin().kvPut(path, Map.of("value", "a"));
        admin().kvPut(path, Map.of("value", "b"));
        admin().kvDestroy(path, 1);
        admin().kvDelete(path, 2);

        assertThat(backend.read(location(path)).blockOptional(WAIT)).isEmpty();
        assertThat(backend.marker(location(path)).blockOptional(WAIT)).isEmpty();
    }

    @Test
    void shouldRefuseAnotherEnvironmentsPathNamingThePolicyItWouldNeed() {
        String path = "staging/stripe/secret-key";
        admin().kvPut(path, Map.of("value", "sk_staging_must_not_leak"));

        assertThatThrownBy(() -> backend.read(location(path)).block(WAIT))
                .isInstanceOf(BackendUnavailableException.class)
                .hasMessageContaining("403")
                .hasMessageContaining("secret/metadata/staging/stripe/secret-key")
                .hasMessageContaining("read on secret/data/staging/* and secret/metadata/staging/*")
                .hasMessageNotContaining("sk_staging_must_not_leak");
        assertThatThrownBy(() -> backend.marker(location(path)).block(WAIT))
                .isInstanceOf(BackendUnavailableException.class);
        // The policy is still in force for the broker's own environment.
        admin().kvPut(prefix + "/key", Map.of("value", "ok"));
        assertThat(backend.read(location(prefix + "/key")).block(WAIT)).isNotNull();
    }

    @Test
    void shouldReadWithATokenThatCarriesOnlyTheBrokerPolicy() {
        String token = admin().createToken(Map.of("policies", List.of(VaultFixtures.BROKER_POLICY), "ttl", "10m"));
        String path = prefix + "/key";
        admin().kvPut(path, Map.of("value", "sk_token"));
        try (VaultConnection tokenConnection = VaultConnection.create(VaultFixtures.token(address(), token),
                properties())) {
            VaultSecretBackend tokenBackend = new VaultSecretBackend(tokenConnection, Clock.systemUTC());

            tokenBackend.checkHealth().block(WAIT);
            assertThat(text(tokenBackend.read(location(path)).block(WAIT).current().value())).isEqualTo("sk_token");
        }
    }

    @Test
    void shouldNameTheTokenPropertyWhenTheConfiguredTokenIsRevoked() {
        String token = admin().createToken(Map.of("policies", List.of(VaultFixtures.BROKER_POLICY), "ttl", "10m"));
        String path = prefix + "/key";
        admin().kvPut(path, Map.of("value", "sk_token"));
        try (VaultConnection tokenConnection = VaultConnection.create(VaultFixtures.token(address(), token),
                properties())) {
            VaultSecretBackend tokenBackend = new VaultSecretBackend(tokenConnection, Clock.systemUTC());
            assertThat(tokenBackend.read(location(path)).block(WAIT)).isNotNull();

            admin().revokeToken(token);

            assertThatThrownBy(() -> tokenBackend.read(location(path)).block(WAIT))
                    .isInstanceOf(BackendUnavailableException.class)
                    .hasMessageContaining("spring.cloud.vault.token")
                    .hasMessageNotContaining(token);
            assertThatThrownBy(() -> tokenBackend.checkHealth().block(WAIT))
                    .isInstanceOf(BackendUnavailableException.class)
                    .hasMessageContaining("spring.cloud.vault.token")
                    .hasMessageNotContaining(token);
        }
    }

    @Test
    void shouldLogInAgainWhenTheSessionTokenIsRevoked() {
        String path = prefix + "/key";
        admin().kvPut(path, Map.of("value", "sk_relogin"));
        assertThat(backend.read(location(path)).block(WAIT)).isNotNull();
        String first = connection.sessionAccessor().block(WAIT);
        assertThat(first).isNotBlank();

        admin().revokeAccessor(first);

        assertThat(text(backend.read(location(path)).block(WAIT).current().value())).isEqualTo("sk_relogin");
        String second = connection.sessionAccessor().block(WAIT);
        assertThat(second).isNotBlank().isNotEqualTo(first);
        assertThat(admin().send("POST", "auth/token/lookup-accessor", Map.of("accessor", first)).status())
                .as("the revoked token stays revoked").isNotEqualTo(200);
    }

    @Test
    void shouldNameTheAppRolePropertiesButNotTheSecretIdWhenTheLoginIsRefused() {
        String wrongSecretId = "wrong-secret-id-must-not-leak";
        try (VaultConnection wrong = VaultConnection.create(appRole(address(), VaultFixtures.ROLE_ID, wrongSecretId),
                properties())) {
            VaultSecretBackend wrongBackend = new VaultSecretBackend(wrong, Clock.systemUTC());

            assertThatThrownBy(() -> wrongBackend.checkHealth().block(WAIT))
                    .isInstanceOf(BackendUnavailableException.class)
                    .hasMessageContaining("refused the broker's login")
                    .hasMessageContaining("spring.cloud.vault.app-role.role-id")
                    .hasMessageContaining("spring.cloud.vault.app-role.secret-id")
                    .hasMessageNotContaining(wrongSecretId);
            assertThatThrownBy(() -> wrongBackend.read(location(prefix + "/key")).block(WAIT))
                    .isInstanceOf(BackendUnavailableException.class)
                    .hasMessageContaining("spring.cloud.vault.app-role.secret-id");
        }
    }

    @Test
    void shouldPassTheHealthCheckWithTheLeastPrivilegeAppRole() {
        backend.checkHealth().block(WAIT);
    }
}
