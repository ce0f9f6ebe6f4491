package io.keybroker.backend.vault;

import static io.keybroker.backend.vault.VaultFixtures.location;
import static io.keybroker.backend.vault.VaultFixtures.properties;
import static io.keybroker.backend.vault.VaultFixtures.text;
import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.backend.BackendHealthIndicator;
import io.keybroker.backend.BackendReadinessGroup;
import io.keybroker.backend.SecretBackend;
import io.keybroker.config.ConfigurationProblemException;
import io.keybroker.config.CoreConfiguration;
import io.keybroker.testsupport.OpenBaoServer;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.availability.ApplicationAvailabilityAutoConfiguration;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.LivenessState;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.boot.health.actuate.endpoint.HealthEndpoint;
import org.springframework.boot.health.autoconfigure.actuate.endpoint.AvailabilityProbesAutoConfiguration;
import org.springframework.boot.health.autoconfigure.actuate.endpoint.HealthEndpointAutoConfiguration;
import org.springframework.boot.health.autoconfigure.application.AvailabilityHealthContributorAutoConfiguration;
import org.springframework.boot.health.autoconfigure.contributor.HealthContributorAutoConfiguration;
import org.springframework.boot.health.autoconfigure.registry.HealthContributorRegistryAutoConfiguration;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.ConfigDataApplicationContextInitializer;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * Start-up against a Vault that is not there yet or refuses the credentials: the broker starts, readiness stays
 * down with a message naming the property to fix, and turns up as soon as Vault answers, with no restart. Also
 * the Spring wiring: {@code spring.cloud.vault.*} and {@code keybroker.vault.*} bound, only when vault is used.
 */
class VaultReadinessIntegrationTests {

    private static final Duration WAIT = Duration.ofSeconds(30);

    private OpenBaoServer server;
    private VaultConnection connection;

    @AfterEach
    void stop() {
        if (connection != null) {
            connection.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @Test
    void shouldStayNotReadyWhileVaultIsUnreachableAndBecomeReadyOnceItAnswers() {
        int port = OpenBaoServer.freePort();
        connection = VaultConnection.create(VaultFixtures.appRole("http://127.0.0.1:" + port), properties());
        BackendHealthIndicator readiness = new BackendHealthIndicator(new VaultSecretBackend(connection, Clock.systemUTC()));

        Health down = readiness.health().block(WAIT);
        assertThat(down.getStatus()).isEqualTo(Status.DOWN);
        assertThat(String.valueOf(down.getDetails().get("error")))
                .contains("cannot connect to Vault at http://127.0.0.1:" + port)
                .contains("spring.cloud.vault.uri")
                .doesNotContain(VaultFixtures.SECRET_ID);

        server = OpenBaoServer.startOn("readiness", port);
        VaultFixtures.seedBrokerAccess(server.admin());

        assertThat(readiness.health().block(WAIT).getStatus()).isEqualTo(Status.UP);
        assertThat(readiness.isReady()).isTrue();

        // Once serving, an outage is the cache's business (stale values, then 503), not readiness'.
        server.stop();
        assertThat(readiness.health().block(WAIT).getStatus()).isEqualTo(Status.UP);
    }

    @Test
    void shouldStayNotReadyWithRefusedCredentialsAndBecomeReadyWhenVaultAcceptsThem() {
        server = OpenBaoServer.start("credentials");
        VaultFixtures.seedBrokerAccess(server.admin());
        String pendingSecretId = "secret-id-not-yet-issued";
        connection = VaultConnection.create(VaultFixtures.appRole(server.address(), VaultFixtures.ROLE_ID,
                pendingSecretId), properties());
        BackendHealthIndicator readiness = new BackendHealthIndicator(new VaultSecretBackend(connection, Clock.systemUTC()));

        Health down = readiness.health().block(WAIT);
        assertThat(down.getStatus()).isEqualTo(Status.DOWN);
        assertThat(String.valueOf(down.getDetails().get("error")))
                .contains("spring.cloud.vault.app-role.secret-id")
                .doesNotContain(pendingSecretId);
        assertThat(readiness.health().block(WAIT).getStatus()).as("still down, no crash").isEqualTo(Status.DOWN);

        // The operator issues the secret id the broker was given.
        server.admin().call("POST", "auth/approle/role/" + VaultFixtures.ROLE + "/custom-secret-id",
                Map.of("secret_id", pendingSecretId));

        assertThat(readiness.health().block(WAIT).getStatus()).isEqualTo(Status.UP);
    }

    @Test
    void shouldHoldTheReadinessGroupTheBrokerConfiguresDownUntilVaultAnswers() {
        int port = OpenBaoServer.freePort();
        new ApplicationContextRunner()
                .withInitializer(new ConfigDataApplicationContextInitializer())
                // What SpringApplication runs from spring.factories: the group of every registered backend.
                .withInitializer(context -> new BackendReadinessGroup().postProcessEnvironment(
                        context.getEnvironment(), null))
                .withConfiguration(AutoConfigurations.of(ApplicationAvailabilityAutoConfiguration.class,
                        HealthContributorAutoConfiguration.class, HealthContributorRegistryAutoConfiguration.class,
                        AvailabilityHealthContributorAutoConfiguration.class, AvailabilityProbesAutoConfiguration.class,
                        HealthEndpointAutoConfiguration.class))
                .withUserConfiguration(CoreConfiguration.class, VaultBackendConfiguration.class)
                .withPropertyValues("keybroker.backend=vault",
                        "spring.cloud.vault.uri=http://127.0.0.1:" + port,
                        "spring.cloud.vault.authentication=APPROLE",
                        "spring.cloud.vault.app-role.role-id=" + VaultFixtures.ROLE_ID,
                        "spring.cloud.vault.app-role.secret-id=" + VaultFixtures.SECRET_ID)
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    // What SpringApplication publishes once the broker has started: only vault holds it back.
                    AvailabilityChangeEvent.publish(context, LivenessState.CORRECT);
                    AvailabilityChangeEvent.publish(context, ReadinessState.ACCEPTING_TRAFFIC);
                    HealthEndpoint health = context.getBean(HealthEndpoint.class);
                    assertThat(health.healthForPath("readiness").getStatus()).isEqualTo(Status.DOWN);
                    assertThat(health.healthForPath("liveness").getStatus()).as("never a crash loop")
                            .isEqualTo(Status.UP);

                    server = OpenBaoServer.startOn("readiness-group", port);
                    VaultFixtures.seedBrokerAccess(server.admin());

                    assertThat(health.healthForPath("readiness").getStatus()).isEqualTo(Status.UP);
                });
    }

    @Test
    void shouldWireTheVaultBackendFromSpringCloudVaultPropertiesOnlyWhenVaultIsInUse() {
        server = OpenBaoServer.start("wiring");
        VaultFixtures.seedBrokerAccess(server.admin());
        server.admin().kvPut("prod/wiring/key", Map.of("secret", "sk_wired"));
        ApplicationContextRunner runner = new ApplicationContextRunner()
                .withUserConfiguration(CoreConfiguration.class, VaultBackendConfiguration.class)
                .withPropertyValues("spring.cloud.vault.enabled=false",
                        "spring.cloud.vault.uri=" + server.address(),
                        "spring.cloud.vault.authentication=APPROLE",
                        "spring.cloud.vault.app-role.role-id=" + VaultFixtures.ROLE_ID,
                        "spring.cloud.vault.app-role.secret-id=" + VaultFixtures.SECRET_ID,
                        "keybroker.vault.default-field=secret",
                        "keybroker.vault.timeout=3s");

        runner.withPropertyValues("keybroker.backend=vault").run(context -> {
            assertThat(context).hasNotFailed().hasSingleBean(VaultSecretBackend.class)
                    .hasBean("vaultHealthIndicator");
            SecretBackend backend = context.getBean(SecretBackend.class);
            assertThat(backend.id()).isEqualTo("vault");
            assertThat(context.getBean(VaultBackendProperties.class).timeout()).isEqualTo(Duration.ofSeconds(3));
            assertThat(text(backend.read(new io.keybroker.backend.BackendLocation("vault", "prod/wiring/key", null))
                    .block(WAIT).current().value())).isEqualTo("sk_wired");
        });
        runner.withPropertyValues("keybroker.backend=file").run(context ->
                assertThat(context).hasNotFailed().doesNotHaveBean(VaultConnection.class));
        runner.withPropertyValues("keybroker.backend=file", "keybroker.mappings[0].prefix=stripe",
                "keybroker.mappings[0].backend=vault").run(context ->
                assertThat(context).hasNotFailed().hasSingleBean(VaultSecretBackend.class));
    }

    @Test
    void shouldRefuseToStartWithSettingsThatCanNeverWorkNamingEachProperty() {
        new ApplicationContextRunner()
                .withUserConfiguration(CoreConfiguration.class, VaultBackendConfiguration.class)
                .withPropertyValues("keybroker.backend=vault", "spring.cloud.vault.uri=http://127.0.0.1:1",
                        "spring.cloud.vault.authentication=TOKEN", "keybroker.vault.kv-mount=../sys")
                .run(context -> assertThat(context).getFailure().rootCause()
                        .isInstanceOf(ConfigurationProblemException.class)
                        .hasMessageContaining("spring.cloud.vault.token is not set")
                        .hasMessageContaining("keybroker.vault.kv-mount"));
        new ApplicationContextRunner()
                .withUserConfiguration(CoreConfiguration.class, VaultBackendConfiguration.class)
                .withPropertyValues("keybroker.backend=vault", "spring.cloud.vault.authentication=AWS_IAM")
                .run(context -> assertThat(context).getFailure().rootCause()
                        .hasMessageContaining("spring.cloud.vault.authentication=AWS_IAM is not supported"));
    }

    @Test
    void shouldNotLetAConnectionWithoutVaultServeAnything() {
        connection = VaultConnection.create(VaultFixtures.appRole("http://127.0.0.1:" + OpenBaoServer.freePort()),
                properties());
        assertThat(new VaultSecretBackend(connection, Clock.systemUTC()).read(location("prod/x")).materialize()
                .block(WAIT).getThrowable()).isInstanceOf(io.keybroker.backend.BackendUnavailableException.class);
    }
}
