package io.keybroker.backend.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.PeerProcess;
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
import software.amazon.awssdk.services.secretsmanager.SecretsManagerAsyncClient;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The whole broker on moto: a rotation in Secrets Manager reaches clients with the old key as previous. */
class AwsEndToEndIntegrationTests {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @Test
    void shouldPropagateASecretsManagerRotationToClients() throws Exception {
        System.setProperty("aws.accessKeyId", "testing");
        System.setProperty("aws.secretAccessKey", "testing");
        try (PeerProcess moto = PeerProcess.moto();
                SecretsManagerAsyncClient admin = AwsSecretBackendIntegrationTests.admin(moto, "us-east-1")) {
            admin.createSecret(b -> b.name("prod/stripe/secret-key").secretString("sk_test_awsE2eOne0001")).join();
            BrokerFixture fixture = BrokerFixture.create();
            Map<String, String> properties = new LinkedHashMap<>(fixture.properties());
            properties.put("keybroker.environment", "prod");
            properties.put("keybroker.backend", "aws");
            properties.put("keybroker.aws.region", "us-east-1");
            properties.put("keybroker.aws.endpoint", moto.uri().toString());
            properties.put("keybroker.rotation.poll-interval", "300ms");
            try (RunningBroker broker = RunningBroker.start(properties)) {
                // Warmed at start: the granted secret is read from Secrets Manager before any client asks.
                HttpClient management = HttpClient.newHttpClient();
                await().atMost(Duration.ofSeconds(10)).until(() -> management.send(HttpRequest.newBuilder(
                        broker.management("/actuator/prometheus")).build(), HttpResponse.BodyHandlers.ofString()).body()
                        .matches("(?s).*keybroker_backend_calls_total\\{[^}]*backend=\"aws\"[^}]*operation=\"read\""
                                + "[^}]*outcome=\"ok\"[^}]*} [1-9].*"));
                HttpClient client = TestPki.httpClient(fixture.ca(), fixture.checkout());
                HttpRequest request = HttpRequest.newBuilder(broker.uri("/v1/secrets/stripe/secret-key")).build();
                assertThat(read(client, request).path("current").path("value").asString())
                        .isEqualTo("sk_test_awsE2eOne0001");
                long written = System.nanoTime();
                admin.putSecretValue(b -> b.secretId("prod/stripe/secret-key").secretString("sk_test_awsE2eTwo0002"))
                        .join();
                JsonNode rotated = await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                        .until(() -> read(client, request), body -> "sk_test_awsE2eTwo0002".equals(
                                body.path("current").path("value").asString()));
                LoggerFactory.getLogger(AwsEndToEndIntegrationTests.class).info("rotation propagated from "
                        + "Secrets Manager (moto) to a client in {} ms (poll interval 300 ms)",
                        (System.nanoTime() - written) / 1_000_000);
                assertThat(rotated.path("previous").path("value").asString()).isEqualTo("sk_test_awsE2eOne0001");
            }
        } finally {
            System.clearProperty("aws.accessKeyId");
            System.clearProperty("aws.secretAccessKey");
        }
    }

    private static JsonNode read(HttpClient client, HttpRequest request) throws Exception {
        HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return JSON.readTree(response.body());
    }
}
