package io.keybroker.backend.vault;

import io.keybroker.backend.BackendLocation;
import io.keybroker.secret.SecretValue;
import io.keybroker.testsupport.OpenBaoServer.Admin;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.springframework.cloud.vault.config.VaultProperties;
import org.springframework.cloud.vault.config.VaultProperties.AuthenticationMethod;
import org.springframework.util.unit.DataSize;

/** Set-up shared by the vault integration tests: the documented policies, the broker's AppRole, connections. */
final class VaultFixtures {

    static final String ENVIRONMENT = "prod";
    static final String BROKER_POLICY = "keybroker-prod";
    static final String ROTATOR_POLICY = "keybroker-rotator-prod";
    static final String ROLE = "keybroker-prod";
    static final String ROLE_ID = "3f0c1e9a-keybroker-prod-role";
    static final String SECRET_ID = "b7d2a4c8-keybroker-prod-secret-id";

    private VaultFixtures() {
    }

    /** The broker's least-privilege policy, exactly as docs/vault.md prints it. */
    static String brokerPolicy(String environment) {
        return """
                # Keybroker for one environment: read-only, KV version 2 under secret/, nothing else.
                path "secret/data/%1$s/*" {
                  capabilities = ["read"]
                }
                path "secret/metadata/%1$s/*" {
                  capabilities = ["read"]
                }
                """.formatted(environment);
    }

    /** The policy of the token that runs keybroker rotate, as docs/vault.md prints it. */
    static String rotatorPolicy(String environment) {
        return """
                # keybroker rotate for one environment: write new versions (check-and-set), read metadata.
                path "secret/data/%1$s/*" {
                  capabilities = ["create", "update", "read"]
                }
                path "secret/metadata/%1$s/*" {
                  capabilities = ["read"]
                }
                """.formatted(environment);
    }

    /**
     * Writes the broker policy and an AppRole {@value #ROLE} with fixed ids that carries only it (plus Vault's
     * default policy, which every token gets: lookup-self, renew-self, revoke-self).
     */
    static void seedBrokerAccess(Admin admin, Map<String, ?> roleSettings) {
        admin.writePolicy(BROKER_POLICY, brokerPolicy(ENVIRONMENT));
        admin.writePolicy(ROTATOR_POLICY, rotatorPolicy(ENVIRONMENT));
        if (!admin.call("GET", "sys/auth", null).path("data").has("approle/")) {
            admin.enableAuth("approle", "approle");
        }
        java.util.Map<String, Object> settings = new java.util.HashMap<>(Map.of("token_policies", BROKER_POLICY,
                "token_ttl", "1h", "token_max_ttl", "4h", "token_type", "service"));
        settings.putAll(roleSettings);
        admin.appRole(ROLE, ROLE_ID, SECRET_ID, settings);
    }

    static void seedBrokerAccess(Admin admin) {
        seedBrokerAccess(admin, Map.of());
    }

    static VaultProperties token(String address, String token) {
        VaultProperties vault = base(address);
        vault.setAuthentication(AuthenticationMethod.TOKEN);
        vault.setToken(token);
        return vault;
    }

    static VaultProperties appRole(String address, String roleId, String secretId) {
        VaultProperties vault = base(address);
        vault.setAuthentication(AuthenticationMethod.APPROLE);
        vault.getAppRole().setRoleId(roleId);
        vault.getAppRole().setSecretId(secretId);
        return vault;
    }

    static VaultProperties appRole(String address) {
        return appRole(address, ROLE_ID, SECRET_ID);
    }

    private static VaultProperties base(String address) {
        VaultProperties vault = new VaultProperties();
        vault.setUri(address);
        return vault;
    }

    static VaultBackendProperties properties(Duration timeout) {
        return new VaultBackendProperties("secret", "value", timeout, DataSize.ofMegabytes(1));
    }

    static VaultBackendProperties properties() {
        return properties(Duration.ofSeconds(10));
    }

    static BackendLocation location(String path) {
        return new BackendLocation("vault", path, "value");
    }

    static BackendLocation location(String path, String field) {
        return new BackendLocation("vault", path, field);
    }

    /** Test-side view of a value; production code never does this. */
    static String text(SecretValue value) {
        return new String(value.bytes(), StandardCharsets.UTF_8);
    }
}
