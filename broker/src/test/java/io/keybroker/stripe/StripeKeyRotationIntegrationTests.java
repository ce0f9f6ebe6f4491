package io.keybroker.stripe;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.SecretsYaml;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A key rolled too early: the current key is an {@code sk_live_} key that stripe-mock refuses with 401, the
 * previous one (inside the grace window) a test key it accepts. Idempotent calls succeed through one retry with
 * the previous key; a POST without an Idempotency-Key is never sent twice.
 */
@ExtendWith(OutputCaptureExtension.class)
class StripeKeyRotationIntegrationTests {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String LIVE_VALUE = "sk_live_FAKE_rolled_too_early_5Hn2Wq8Z";

    @RegisterExtension
    static final StripeProxyHarness stripe = new StripeProxyHarness(fixture -> {
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        fixture.writeSecrets(SecretsYaml.empty()
                .version("test/stripe/secret-key", "7", BrokerFixture.PREVIOUS_VALUE, now.minus(90, ChronoUnit.DAYS))
                .version("test/stripe/secret-key", "8", LIVE_VALUE, now.minus(1, ChronoUnit.DAYS)));
    },
            // Every 401 may re-read the key, so that each test sees its own re-read.
            Map.of("keybroker.rotation.refresh-min-interval", "0s"));

    @Test
    void shouldAnswerAGetThroughOneRetryWithThePreviousKey() throws Exception {
        HttpResponse<String> response = stripe.call("GET", "/stripe/v1/payment_intents/pi_123", null,
                "X-Request-Id", "rotation-get-1");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(response.body()).path("object").asString()).isEqualTo("payment_intent");
        assertThat(stripe.relay().requests()).isEqualTo(2);
        String sent = stripe.relay().sent();
        assertThat(sent.indexOf("Bearer " + LIVE_VALUE)).isNotNegative()
                .isLessThan(sent.indexOf("Bearer " + BrokerFixture.PREVIOUS_VALUE));
        JsonNode record = stripe.auditRecordOf("rotation-get-1");
        assertThat(record.path("keyStage").asString()).isEqualTo("previous");
        assertThat(record.path("keyVersion").asString()).isEqualTo("7");
        assertThat(record.path("retried").asBoolean()).isTrue();
        assertThat(record.path("stripeStatus").asInt()).isEqualTo(200);
    }

    @Test
    void shouldReReadTheKeyFromTheBackendAfterA401WithTheCurrentKey() throws Exception {
        double before = backendReads();
        assertThat(stripe.call("GET", "/stripe/v1/payment_intents/pi_456", null).statusCode()).isEqualTo(200);
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> backendReads() > before);
    }

    private static double backendReads() throws Exception {
        String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                stripe.broker().management("/actuator/prometheus")).build(), HttpResponse.BodyHandlers.ofString()).body();
        return body.lines().filter(line -> line.startsWith("keybroker_backend_calls_total{")
                && line.contains("operation=\"read\"")).mapToDouble(line -> Double.parseDouble(
                        line.substring(line.lastIndexOf(' ') + 1))).sum();
    }

    @Test
    void shouldNeverReplayAPostWithoutAnIdempotencyKey() throws Exception {
        HttpResponse<String> response = stripe.call("POST", "/stripe/v1/payment_intents", "amount=2000&currency=usd",
                "Content-Type", "application/x-www-form-urlencoded", "X-Request-Id", "rotation-post-1");
        assertThat(response.statusCode()).isEqualTo(401);
        assertThat(stripe.relay().requests()).isEqualTo(1);
        assertThat(stripe.relay().sent()).doesNotContain(BrokerFixture.PREVIOUS_VALUE);
        JsonNode record = stripe.auditRecordOf("rotation-post-1");
        assertThat(record.path("keyStage").asString()).isEqualTo("current");
        assertThat(record.path("keyVersion").asString()).isEqualTo("8");
        assertThat(record.path("retried").asBoolean()).isFalse();
        assertThat(record.path("stripeStatus").asInt()).isEqualTo(401);
    }

    @Test
    void shouldRetryAPostThatCarriesAnIdempotencyKey() throws Exception {
        HttpResponse<String> response = stripe.call("POST", "/stripe/v1/payment_intents", "amount=2000&currency=usd",
                "Content-Type", "application/x-www-form-urlencoded", "Idempotency-Key", "rotation-idem-1",
                "X-Request-Id", "rotation-post-2");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(stripe.relay().requests()).isEqualTo(2);
        // The same body both times.
        assertThat(stripe.relay().sent().split("amount=2000&currency=usd", -1)).hasSize(3);
        assertThat(stripe.auditRecordOf("rotation-post-2").path("keyStage").asString()).isEqualTo("previous");
    }

    @Test
    void shouldNeverLeakEitherKey(CapturedOutput output) throws Exception {
        StringBuilder responses = new StringBuilder();
        for (String method : List.of("GET", "DELETE")) {
            HttpResponse<String> response = stripe.call(method, method.equals("GET") ? "/stripe/v1/payment_intents/pi_1"
                    : "/stripe/v1/customers/cus_1", null);
            responses.append(response.headers().map()).append(response.body());
        }
        for (String value : List.of(LIVE_VALUE, BrokerFixture.PREVIOUS_VALUE)) {
            assertThat(responses.toString()).doesNotContain(value);
            assertThat(Files.readString(stripe.fixture().auditFile())).doesNotContain(value);
            assertThat(output.getAll()).doesNotContain(value);
        }
    }
}
