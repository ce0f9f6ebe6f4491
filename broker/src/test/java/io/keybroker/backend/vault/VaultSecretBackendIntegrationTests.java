package io.keybroker.backend.vault;

import static io.keybroker.backend.vault.VaultFixtures.location;
import static io.keybroker.backend.vault.VaultFixtures.properties;
import static io.keybroker.backend.vault.VaultFixtures.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.keybroker.backend.BackendUnavailableException;
import io.keybroker.testsupport.OpenBaoServer;
import io.keybroker.testsupport.OpenBaoServer.Admin;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.cloud.vault.config.VaultProperties;
import org.springframework.cloud.vault.config.VaultProperties.AuthenticationMethod;

/**
 * The vault backend against a real OpenBao dev server: the shared contract, plus what needs OpenBao itself:
 * Kubernetes-style login through the {@code jwt} method, and token renewal and re-login with short TTLs.
 */
class VaultSecretBackendIntegrationTests extends VaultBackendContract {

    private OpenBaoServer server;

    private OpenBaoServer server() {
        if (server == null) {
            server = OpenBaoServer.start("backend");
        }
        return server;
    }

    @Override
    String address() {
        return server().address();
    }

    @Override
    Admin admin() {
        return server().admin();
    }

    @Override
    void stopPeer() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void shouldLogInKubernetesStyleWithAProjectedServiceAccountTokenThroughTheJwtMount(@TempDir Path dir)
            throws IOException {
        TestJwt signer = jwtMount("keybroker-k8s");
        Path tokenFile = dir.resolve("token");
        Files.writeString(tokenFile, signer.serviceAccountToken("payments", "keybroker"));
        admin().kvPut("prod/k8s/stripe", Map.of("value", "sk_k8s"));

        try (VaultConnection k8s = VaultConnection.create(kubernetes("keybroker-k8s", tokenFile), properties())) {
            VaultSecretBackend k8sBackend = new VaultSecretBackend(k8s, Clock.systemUTC());

            assertThat(text(k8sBackend.read(location("prod/k8s/stripe")).block(WAIT).current().value()))
                    .isEqualTo("sk_k8s");
            assertThatThrownBy(() -> k8sBackend.read(location("staging/k8s/stripe")).block(WAIT))
                    .as("the Kubernetes role carries the same least-privilege policy")
                    .isInstanceOf(BackendUnavailableException.class)
                    .hasMessageContaining("secret/metadata/staging/*");
        }
    }

    @Test
    void shouldReadTheServiceAccountTokenFileAgainAtEveryLoginAndRecoverFromARefusedLogin(@TempDir Path dir)
            throws IOException {
        TestJwt signer = jwtMount("keybroker-k8s-file");
        Path tokenFile = dir.resolve("token");
        String otherAccount = signer.serviceAccountToken("payments", "someone-else");
        Files.writeString(tokenFile, otherAccount);

        try (VaultConnection k8s = VaultConnection.create(kubernetes("keybroker-k8s-file", tokenFile), properties())) {
            VaultSecretBackend k8sBackend = new VaultSecretBackend(k8s, Clock.systemUTC());
            assertThatThrownBy(() -> k8sBackend.checkHealth().block(WAIT))
                    .isInstanceOf(BackendUnavailableException.class)
                    .hasMessageContaining("refused the broker's login")
                    .hasMessageContaining("spring.cloud.vault.kubernetes.role")
                    .hasMessageContaining("spring.cloud.vault.kubernetes.service-account-token-file")
                    .hasMessageNotContaining(otherAccount);

            // The kubelet writes a new token (here: one for the bound service account); no restart needed.
            Files.writeString(tokenFile, signer.serviceAccountToken("payments", "keybroker"));

            k8sBackend.checkHealth().block(WAIT);
        }
    }

    @Test
    void shouldNameTheTokenFilePropertyWhenTheFileCannotBeRead(@TempDir Path dir) {
        jwtMount("keybroker-k8s-missing");
        Path missing = dir.resolve("no-token-here");

        try (VaultConnection k8s = VaultConnection.create(kubernetes("keybroker-k8s-missing", missing), properties())) {
            assertThatThrownBy(() -> new VaultSecretBackend(k8s, Clock.systemUTC()).checkHealth().block(WAIT))
                    .isInstanceOf(BackendUnavailableException.class)
                    .hasMessageContaining("spring.cloud.vault.kubernetes.service-account-token-file")
                    .hasMessageContaining(missing.toString());
        }
    }

    @Test
    void shouldRenewTheTokenBeforeItExpiresAndLogInAgainAtItsMaxTtl() {
        admin().appRole("keybroker-short", "short-role-id", "short-secret-id", Map.of(
                "token_policies", VaultFixtures.BROKER_POLICY, "token_ttl", "4s", "token_max_ttl", "12s"));
        admin().kvPut("prod/renewal/key", Map.of("value", "sk_renewal"));
        VaultProperties vault = VaultFixtures.appRole(address(), "short-role-id", "short-secret-id");
        vault.getSession().getLifecycle().setRefreshBeforeExpiry(Duration.ofSeconds(2));
        vault.getSession().getLifecycle().setExpiryThreshold(Duration.ofSeconds(1));

        try (VaultConnection shortLived = VaultConnection.create(vault, properties())) {
            VaultSecretBackend shortBackend = new VaultSecretBackend(shortLived, Clock.systemUTC());
            assertThat(shortBackend.read(location("prod/renewal/key")).block(WAIT)).isNotNull();
            String first = shortLived.sessionAccessor().block(WAIT);

            // Renewed before its 4 s TTL ran out, by the session's schedule and not by a request.
            await("token renewed").atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                    assertThat(admin().lookupAccessor(first).path("last_renewal_time").asLong()).isPositive());
            assertThat(shortLived.sessionAccessor().block(WAIT)).isEqualTo(first);
            assertThat(text(shortBackend.read(location("prod/renewal/key")).block(WAIT).current().value()))
                    .isEqualTo("sk_renewal");

            // At token_max_ttl renewal no longer helps: the session logs in again, and reads keep working.
            await("new login at max ttl").atMost(Duration.ofSeconds(30)).until(() -> {
                assertThat(shortBackend.read(location("prod/renewal/key")).block(WAIT)).isNotNull();
                return !first.equals(shortLived.sessionAccessor().block(WAIT));
            });
        }
    }

    /** Enables OpenBao's jwt method (once) with the test's signing key and a role bound to payments/keybroker. */
    private TestJwt jwtMount(String role) {
        TestJwt signer = new TestJwt();
        String mount = "jwt-" + role;
        admin().enableAuth(mount, "jwt");
        admin().call("POST", "auth/" + mount + "/config", Map.of(
                "jwt_validation_pubkeys", List.of(signer.publicKeyPem()), "bound_issuer", TestJwt.ISSUER));
        admin().call("POST", "auth/" + mount + "/role/" + role, Map.of(
                "role_type", "jwt",
                "user_claim", "sub",
                "bound_subject", "system:serviceaccount:payments:keybroker",
                "bound_audiences", List.of(TestJwt.AUDIENCE),
                "token_policies", List.of(VaultFixtures.BROKER_POLICY),
                "token_ttl", "1h"));
        return signer;
    }

    private VaultProperties kubernetes(String role, Path tokenFile) {
        VaultProperties vault = new VaultProperties();
        vault.setUri(address());
        vault.setAuthentication(AuthenticationMethod.KUBERNETES);
        vault.getKubernetes().setRole(role);
        // Spring Vault's KubernetesAuthentication posts {role, jwt} to auth/<kubernetes-path>/login: the same
        // request OpenBao's jwt method takes.
        vault.getKubernetes().setKubernetesPath("jwt-" + role);
        vault.getKubernetes().setServiceAccountTokenFile(tokenFile.toString());
        return vault;
    }
}
