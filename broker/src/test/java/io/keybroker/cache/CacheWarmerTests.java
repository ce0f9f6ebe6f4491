package io.keybroker.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keybroker.backend.BackendLocation;
import io.keybroker.backend.SecretLocator;
import io.keybroker.backend.file.FileBackendConfiguration;
import io.keybroker.config.ConfigurationProblemException;
import io.keybroker.config.CoreConfiguration;
import io.keybroker.config.KeybrokerProperties.MappingProperties;
import io.keybroker.config.KeybrokerProperties;
import io.keybroker.policy.PolicyLoader;
import io.keybroker.policy.PolicyStore;
import io.keybroker.secret.SecretName;
import io.keybroker.testsupport.PolicyFixtures;
import io.keybroker.testsupport.SecretsYaml;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
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
        CacheWarmer warmer = new CacheWarmer(new PolicyStore(new PolicyLoader().load(dir)), locator, cache,
                warmIdentities());

        // Before: the alias refusal, thrown while locating, ended the whole warm-up and was dropped as an error.
        // Completes (nothing here is loaded: the recording cache answers every name as absent).
        assertThat(warmer.warm().block()).isZero();
        assertThat(cache.asked).containsExactlyInAnyOrder("prod/warm/down", "prod/warm/one", "prod/warm/two",
                "prod/warm/three", "prod/warm/four", "prod/warm/five");
    }

    private static final String CHECKOUT = PolicyFixtures.CHECKOUT;
    private static final String REPORTING = "spiffe://cluster.local/ns/payments/sa/reporting";

    /**
     * Two workloads of one namespace with their own exact names, one name they share, a pattern grant (never
     * warmed), a grant to every workload of the namespace, and one to another namespace's workloads.
     */
    private static final String TWO_WORKLOADS = PolicyFixtures.policy("payments", """
                - identity: spiffe://cluster.local/ns/payments/sa/checkout
                  application: checkout
                  allow:
                    - secrets: [stripe/secret-key, shared/feature-flags, stripe/restricted/*]
                      stages: [current, previous]
                - identity: spiffe://cluster.local/ns/payments/sa/reporting
                  application: reporting
                  allow:
                    - secrets: [reports/db-password, shared/feature-flags]
                      stages: [current]
                - identity: spiffe://cluster.local/ns/payments/*
                  application: payments-shared
                  allow:
                    - secrets: [shared/audit-salt]
                      stages: [current]
                - identity: spiffe://cluster.local/ns/billing/*
                  application: billing
                  allow:
                    - secrets: [billing/invoice-key]
                      stages: [current]
            """);

    private static final SecretLocator PROD = SecretLocator.from(new KeybrokerProperties("prod", "file", false,
            Path.of("x"), List.of()));

    private static CacheProperties warmIdentities(String... identities) {
        return new CacheProperties(Duration.ofMinutes(5), Duration.ofMinutes(15), 100, Duration.ofSeconds(10),
                Duration.ofMinutes(5), List.of(identities));
    }

    private static PolicyStore policy(Path dir, String text) throws Exception {
        Files.writeString(dir.resolve("payments.yaml"), text, StandardCharsets.UTF_8);
        return new PolicyStore(new PolicyLoader().load(dir));
    }

    @Test
    void shouldWarmOnlyTheNamesGrantedByExactNameToTheListedIdentity(@TempDir Path dir) throws Exception {
        RecordingCache cache = new RecordingCache();
        CacheWarmer warmer = new CacheWarmer(policy(dir, TWO_WORKLOADS), PROD, cache, warmIdentities(CHECKOUT));

        warmer.warm().block();

        // Its own names, the shared one, and the namespace-wide grant its ID falls under; not reporting's name,
        // not another namespace's, and never a pattern.
        assertThat(cache.asked).containsExactlyInAnyOrder("prod/stripe/secret-key", "prod/shared/feature-flags",
                "prod/shared/audit-salt");
    }

    @Test
    void shouldWarmTheNamesOfEveryListedIdentity(@TempDir Path dir) throws Exception {
        RecordingCache cache = new RecordingCache();
        CacheWarmer warmer = new CacheWarmer(policy(dir, TWO_WORKLOADS), PROD, cache,
                warmIdentities(CHECKOUT, REPORTING));

        warmer.warm().block();

        assertThat(cache.asked).containsExactlyInAnyOrder("prod/stripe/secret-key", "prod/shared/feature-flags",
                "prod/shared/audit-salt", "prod/reports/db-password");
    }

    @Test
    void shouldWarmEveryNameGrantedByExactNameWhenNoIdentityIsListed(@TempDir Path dir) throws Exception {
        RecordingCache cache = new RecordingCache();
        CacheWarmer warmer = new CacheWarmer(policy(dir, TWO_WORKLOADS), PROD, cache, warmIdentities());

        warmer.warm().block();

        assertThat(cache.asked).containsExactlyInAnyOrder("prod/stripe/secret-key", "prod/shared/feature-flags",
                "prod/shared/audit-salt", "prod/reports/db-password", "prod/billing/invoice-key");
    }

    @Test
    void shouldWarmNothingForAnIdentityThePolicyGrantsNothing(@TempDir Path dir) throws Exception {
        RecordingCache cache = new RecordingCache();
        CacheWarmer warmer = new CacheWarmer(policy(dir, TWO_WORKLOADS), PROD, cache,
                warmIdentities("spiffe://cluster.local/ns/shipping/sa/labels"));

        assertThat(warmer.warm().block()).isZero();
        assertThat(cache.asked).isEmpty();
    }

    @Test
    void shouldRefuseAWarmIdentityThatIsNotAWorkloadIdentityNamingTheProperty(@TempDir Path dir) throws Exception {
        PolicyStore policies = policy(dir, TWO_WORKLOADS);

        assertThatThrownBy(() -> new CacheWarmer(policies, PROD, new RecordingCache(),
                warmIdentities(CHECKOUT, "spiffe://cluster.local/ns/payments/*")))
                .isInstanceOf(ConfigurationProblemException.class)
                .hasMessageContaining("keybroker.cache.warm-identities[1]")
                .hasMessageContaining("is a pattern; give one caller's SPIFFE ID");
    }

    @Configuration(proxyBeanMethods = false)
    @EnableConfigurationProperties(KeybrokerProperties.class)
    @Import(CoreConfiguration.class)
    static class Broker {
        @Bean
        SecretLocator secretLocator(KeybrokerProperties properties) {
            return SecretLocator.from(properties);
        }
    }

    @Test
    void shouldLoadOnlyTheListedIdentitysNamesIntoTheRealCacheFromTheFileBackend(@TempDir Path dir)
            throws Exception {
        Path policyDir = Files.createDirectory(dir.resolve("policy"));
        PolicyStore policies = policy(policyDir, TWO_WORKLOADS);
        Instant now = Instant.now();
        Path secrets = dir.resolve("secrets.yaml");
        SecretsYaml file = SecretsYaml.empty();
        for (String path : List.of("stripe/secret-key", "shared/feature-flags", "shared/audit-salt",
                "reports/db-password", "billing/invoice-key")) {
            file.version("prod/" + path, "1", "value of " + path, now.minusSeconds(60));
        }
        Files.writeString(secrets, file.yaml(), StandardCharsets.UTF_8);

        new ApplicationContextRunner()
                .withUserConfiguration(Broker.class, FileBackendConfiguration.class, CacheConfiguration.class,
                        CacheWarmer.class)
                .withBean(PolicyStore.class, () -> policies)
                .withPropertyValues("keybroker.environment=prod", "keybroker.file.path=" + secrets,
                        "keybroker.cache.warm-identities=" + REPORTING)
                .run(context -> {
                    assertThat(context).hasNotFailed();

                    assertThat(context.getBean(CacheWarmer.class).warm().block()).isEqualTo(3);

                    EncryptedSecretCache cache = context.getBean(EncryptedSecretCache.class);
                    SecretLocator locator = context.getBean(SecretLocator.class);
                    for (String name : List.of("reports/db-password", "shared/feature-flags",
                            "shared/audit-salt")) {
                        assertThat(cache.getIfPresent(locator.locate(SecretName.parse(name)).backend()))
                                .as(name).isPresent();
                    }
                    for (String name : List.of("stripe/secret-key", "billing/invoice-key")) {
                        assertThat(cache.getIfPresent(locator.locate(SecretName.parse(name)).backend()))
                                .as(name + " is granted to other identities only").isEmpty();
                    }
                });
    }
}
