package io.keybroker.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.RunningBroker;
import io.keybroker.testsupport.TestPki;
import io.keybroker.testsupport.SecretsYaml;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A backend that fails: the last good value is served up to max-stale, then 503 with Retry-After. */
class StaleServingIntegrationTests {

    @Test
    void shouldServeTheLastGoodValueUntilMaxStaleThen503() throws Exception {
        BrokerFixture fixture = BrokerFixture.create();
        Map<String, String> properties = SecretsApiIntegrationTests.with(fixture.properties(),
                "keybroker.cache.ttl", "1s", "keybroker.cache.max-stale", "2s",
                "keybroker.rotation.poll-interval", "300ms");
        try (RunningBroker broker = RunningBroker.start(properties)) {
            HttpClient client = TestPki.httpClient(fixture.ca(), fixture.checkout());
            HttpRequest request = HttpRequest.newBuilder(broker.uri("/v1/secrets/stripe/secret-key")).build();
            assertThat(client.send(request, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);

            // The backend breaks: the secrets file becomes unreadable YAML.
            fixture.writeSecrets("secrets: [this is: not valid");

            // Reads go on: once the entry is past its ttl and the backend still fails, they are served stale.
            await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100)).until(() -> {
                HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
                return response.statusCode() == 200
                        && Files.readString(fixture.auditFile()).contains("\"source\":\"stale\"");
            });
            HttpResponse<String> unavailable = await().atMost(Duration.ofSeconds(15))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> client.send(request, HttpResponse.BodyHandlers.ofString()),
                            response -> response.statusCode() != 200);
            assertThat(unavailable.statusCode()).isEqualTo(503);
            assertThat(unavailable.headers().firstValue("Retry-After")).isPresent();
            assertThat(unavailable.headers().firstValue("Content-Type")).hasValue("application/problem+json");
            assertThat(unavailable.body()).doesNotContain(BrokerFixture.CURRENT_VALUE, BrokerFixture.PREVIOUS_VALUE);
            assertThat(Files.readString(fixture.auditFile())).contains("\"decision\":\"unavailable\"");

            // The backend recovers: served again without a restart.
            fixture.writeSecrets(SecretsYaml.empty().version("test/stripe/secret-key", "8",
                    "sk_test_recoveredValue000000000001", Instant.parse("2026-11-01T00:00:00Z")));
            HttpResponse<String> recovered = await().atMost(Duration.ofSeconds(15))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> client.send(request, HttpResponse.BodyHandlers.ofString()),
                            response -> response.statusCode() == 200);
            assertThat(recovered.body()).contains("\"version\":\"8\"");
        }
    }
}
