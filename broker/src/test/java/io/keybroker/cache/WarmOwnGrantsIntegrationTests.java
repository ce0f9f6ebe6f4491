package io.keybroker.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.BrokerProcess;
import io.keybroker.testsupport.PolicyFixtures;
import io.keybroker.testsupport.SecretsYaml;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The broker process as the injector starts it: {@code KEYBROKER_CACHE_WARMIDENTITIES} in its environment names
 * its pod's workload, and it warms only that workload's exact grants, with no warning about the variable.
 */
@Tag("jar")
class WarmOwnGrantsIntegrationTests {

    @Test
    void shouldWarmOnlyTheGrantsOfTheIdentityTheInjectorNames() throws Exception {
        BrokerFixture fixture = BrokerFixture.create();
        // Checkout has two exact names, reporting two others; the namespace entry's name is checkout's too.
        Files.writeString(fixture.dir().resolve("policy/payments.yaml"), PolicyFixtures.policy("payments", """
                    - identity: %s
                      application: checkout
                      allow:
                        - secrets: [stripe/secret-key, stripe/webhook-secret]
                          stages: [current]
                    - identity: %s
                      application: reporting
                      allow:
                        - secrets: [reports/db-password, reports/api-token]
                          stages: [current]
                    - identity: spiffe://cluster.local/ns/payments/*
                      application: payments-shared
                      allow:
                        - secrets: [shared/feature-flags]
                          stages: [current]
                """.formatted(BrokerFixture.CHECKOUT, BrokerFixture.REPORTING)), StandardCharsets.UTF_8);
        Instant now = Instant.now();
        fixture.writeSecrets(SecretsYaml.fixtureDefaults(now)
                .version("test/reports/db-password", "1", "reporting-db-fixture", now)
                .version("test/reports/api-token", "1", "reporting-token-fixture", now)
                .version("test/shared/feature-flags", "1", "{}", now));

        try (BrokerProcess broker = BrokerProcess.start(fixture, Map.of(),
                Map.of("KEYBROKER_CACHE_WARMIDENTITIES", BrokerFixture.CHECKOUT))) {
            Awaitility.await("the warming log line").atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(100)).until(() -> broker.log().contains("Warmed the cache"));

            assertThat(broker.log())
                    .contains("Warmed the cache with 3 of 3 secret(s) granted by exact name to the 1 identity of "
                            + "keybroker.cache.warm-identities")
                    .doesNotContain("unknown property keybroker.cache")
                    .doesNotContain("reporting-db-fixture");
        }
    }
}
