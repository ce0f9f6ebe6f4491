package io.keybroker.backend.vault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.OpenBaoServer;
import io.keybroker.testsupport.RunningBroker;
import io.keybroker.testsupport.TestPki;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The whole broker on a real OpenBao with the least-privilege AppRole: a rotation in OpenBao reaches clients
 * with the old key as previous; an outage is served from the cache; the restarted server is read again
 * without restarting the broker.
 */
class VaultEndToEndIntegrationTests {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String PATH = "prod/stripe/secret-key";

    @Test
    void shouldPropagateARotationSurviveAnOutageAndRecover() throws Exception {
        try (OpenBaoServer bao = OpenBaoServer.start("e2e")) {
            seed(bao, 2);
            BrokerFixture fixture = BrokerFixture.create();
            Map<String, String> properties = new LinkedHashMap<>(fixture.properties());
            properties.put("keybroker.environment", "prod");
            properties.put("keybroker.backend", "vault");
            properties.put("keybroker.rotation.poll-interval", "300ms");
            properties.put("keybroker.cache.max-stale", "1h");
            properties.put("spring.cloud.vault.uri", bao.address());
            properties.put("spring.cloud.vault.authentication", "APPROLE");
            properties.put("spring.cloud.vault.app-role.role-id", VaultFixtures.ROLE_ID);
            properties.put("spring.cloud.vault.app-role.secret-id", VaultFixtures.SECRET_ID);
            try (RunningBroker broker = RunningBroker.start(properties)) {
                HttpClient client = TestPki.httpClient(fixture.ca(), fixture.checkout());
                HttpRequest request = HttpRequest.newBuilder(broker.uri("/v1/secrets/stripe/secret-key")).build();
                JsonNode first = read(client, request);
                assertThat(first.path("current").path("version").asString()).isEqualTo("2");
                assertThat(first.path("current").path("value").asString()).isEqualTo(value(2));
                assertThat(first.path("previous").path("version").asString()).isEqualTo("1");

                long written = System.nanoTime();
                bao.admin().kvPut(PATH, Map.of("value", value(3)));
                JsonNode rotated = await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                        .until(() -> read(client, request), body -> "3".equals(body.path("current").path("version")
                                .asString()));
                long propagationMs = (System.nanoTime() - written) / 1_000_000;
                LoggerFactory.getLogger(VaultEndToEndIntegrationTests.class).info(
                        "rotation propagated from OpenBao to a client in {} ms (poll interval 300 ms)", propagationMs);
                assertThat(rotated.path("current").path("value").asString()).isEqualTo(value(3));
                assertThat(rotated.path("previous").path("version").asString()).isEqualTo("2");
                assertThat(rotated.path("previous").path("value").asString()).isEqualTo(value(2));

                bao.stop();
                // Until the broker has seen the outage, and after, reads are answered from the cache.
                await().atMost(Duration.ofSeconds(10)).until(() -> metrics(broker)
                        .matches("(?s).*keybroker_backend_calls_total\\{[^}]*backend=\"vault\"[^}]*outcome=\"error\"[^}]*} [1-9].*"));
                for (int i = 0; i < 20; i++) {
                    JsonNode during = read(client, request);
                    assertThat(during.path("current").path("version").asString()).isEqualTo("3");
                    assertThat(during.path("previous").path("version").asString()).isEqualTo("2");
                }

                bao.start();
                seed(bao, 4);
                JsonNode recovered = await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                        .until(() -> read(client, request), body -> "4".equals(body.path("current").path("version")
                                .asString()));
                assertThat(recovered.path("current").path("value").asString()).isEqualTo(value(4));
            }
        }
    }

    private static void seed(OpenBaoServer bao, int versions) {
        VaultFixtures.seedBrokerAccess(bao.admin());
        for (int v = 1; v <= versions; v++) {
            bao.admin().kvPut(PATH, Map.of("value", value(v)));
        }
    }

    private static String value(int version) {
        return "sk_test_vaultEndToEnd" + version + "x".repeat(12);
    }

    private static JsonNode read(HttpClient client, HttpRequest request) throws Exception {
        HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return JSON.readTree(response.body());
    }

    private static String metrics(RunningBroker broker) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(broker.management("/actuator/prometheus"))
                .build(), HttpResponse.BodyHandlers.ofString()).body();
    }
}
