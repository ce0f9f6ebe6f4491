package io.keybroker.stripe;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.TestPki;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code ANY /stripe/{path}} over real mTLS against the whole broker, forwarding over HTTP to Stripe's own
 * stripe-mock through a relay that records every byte that reaches it.
 */
@ExtendWith(OutputCaptureExtension.class)
class StripeProxyIntegrationTests {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String PLACEHOLDER = "sk_test_placeholderTheWorkloadSends";

    @RegisterExtension
    static final StripeProxyHarness stripe = new StripeProxyHarness();

    @Test
    void shouldCreateAPaymentIntentWithTheWorkloadsKeyInsteadOfThePlaceholder() throws Exception {
        HttpResponse<String> response = stripe.call("POST", "/stripe/v1/payment_intents",
                "amount=2000&currency=usd", "Authorization", "Bearer " + PLACEHOLDER,
                "Content-Type", "application/x-www-form-urlencoded", "X-Request-Id", "stripe-create-1");
        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode intent = JSON.readTree(response.body());
        assertThat(intent.path("object").asString()).isEqualTo("payment_intent");
        assertThat(intent.path("id").asString()).startsWith("pi_");
        String sent = stripe.relay().sent();
        assertThat(sent).containsIgnoringCase("authorization: Bearer " + BrokerFixture.CURRENT_VALUE + "\r\n");
        assertThat(sent).doesNotContain(PLACEHOLDER);
        JsonNode record = stripe.auditRecordOf("stripe-create-1");
        assertThat(record.path("type").asString()).isEqualTo("stripe-call");
        assertThat(record.path("identity").asString()).isEqualTo(BrokerFixture.CHECKOUT);
        assertThat(record.path("method").asString()).isEqualTo("POST");
        assertThat(record.path("path").asString()).isEqualTo("/v1/payment_intents");
        assertThat(record.path("decision").asString()).isEqualTo("allow");
        assertThat(record.path("rule").asString()).isEqualTo("payments.yaml#payments/workloads[0]/stripe/calls[0]");
        assertThat(record.path("secret").asString()).isEqualTo("stripe/secret-key");
        assertThat(record.path("keyStage").asString()).isEqualTo("current");
        assertThat(record.path("keyVersion").asString()).isEqualTo("7");
        assertThat(record.path("stripeStatus").asInt()).isEqualTo(200);
        assertThat(record.path("retried").asBoolean()).isFalse();
        assertThat(record.has("latencyMs")).isTrue();
    }

    @Test
    void shouldPassFormBodiesAndQueryStringsByteForByte() throws Exception {
        String form = "amount=2000&currency=usd&metadata%5Border_id%5D=6735&description=caf%C3%A9+%26+cr%C3%A8me"
                + "&payment_method_types%5B0%5D=card";
        HttpResponse<String> created = stripe.call("POST", "/stripe/v1/payment_intents", form,
                "Content-Type", "application/x-www-form-urlencoded");
        assertThat(created.statusCode()).isEqualTo(200);
        assertThat(stripe.relay().sent()).endsWith("\r\n\r\n" + form).containsIgnoringCase("content-length: " + form.length()
                + "\r\n");
        stripe.relay().clear();
        String query = "limit=3&created%5Bgte%5D=1700000000&expand%5B%5D=data.customer";
        HttpResponse<String> listed = stripe.call("GET", "/stripe/v1/payment_intents?" + query, null);
        assertThat(listed.statusCode()).isLessThan(500);
        assertThat(stripe.relay().sent()).startsWith("GET /v1/payment_intents?" + query + " HTTP/1.1\r\n");
    }

    @Test
    void shouldPassStripesHeadersBothWaysAndNoHopByHopHeaders() throws Exception {
        HttpResponse<String> response = stripe.call("POST", "/stripe/v1/customers", "email=a%40example.com",
                "Content-Type", "application/x-www-form-urlencoded", "Idempotency-Key", "idem-42",
                "Stripe-Version", "2024-06-20", "Stripe-Account", "acct_1032D82eZvKYlo2C",
                "Proxy-Authorization", "Basic c2VjcmV0", "TE", "trailers", "Keep-Alive", "timeout=5",
                "Cookie", "session=workload", "Trailer", "X-Checksum");
        assertThat(response.statusCode()).isEqualTo(200);
        String sent = stripe.relay().sent();
        assertThat(sent).containsIgnoringCase("idempotency-key: idem-42\r\n")
                .containsIgnoringCase("stripe-version: 2024-06-20\r\n")
                .containsIgnoringCase("stripe-account: acct_1032D82eZvKYlo2C\r\n");
        assertThat(sent.toLowerCase()).doesNotContain("proxy-authorization", "\r\nte:", "keep-alive: timeout",
                "cookie:", "trailer:");
        assertThat(response.headers().firstValue("Request-Id")).hasValueSatisfying(id -> assertThat(id)
                .startsWith("req_"));
        // stripe-mock echoes the Idempotency-Key, as Stripe does.
        assertThat(response.headers().firstValue("Idempotency-Key")).hasValue("idem-42");
        assertThat(response.headers().firstValue("Stripe-Mock-Version")).isPresent();
    }

    @Test
    void shouldStreamStripesErrorsBackUnchanged() throws Exception {
        HttpResponse<String> direct = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                stripe.stripeMock().uri().resolve("/v1/customers")).header("Authorization", "Bearer "
                        + BrokerFixture.CURRENT_VALUE).POST(HttpRequest.BodyPublishers.ofString("unknown_param=1"))
                .header("Content-Type", "application/x-www-form-urlencoded").build(),
                HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> proxied = stripe.call("POST", "/stripe/v1/customers", "unknown_param=1",
                "Content-Type", "application/x-www-form-urlencoded");
        assertThat(proxied.statusCode()).isEqualTo(direct.statusCode()).isEqualTo(400);
        assertThat(proxied.body()).isEqualTo(direct.body());
        assertThat(proxied.headers().firstValue("Content-Type")).isEqualTo(direct.headers().firstValue("Content-Type"));
    }

    @Test
    void shouldRefuseACallTheListDoesNotCoverWithoutForwardingIt() throws Exception {
        HttpResponse<String> response = stripe.call("POST", "/stripe/v1/refunds", "payment_intent=pi_1",
                "Content-Type", "application/x-www-form-urlencoded", "X-Request-Id", "stripe-refused-1");
        assertThat(response.statusCode()).isEqualTo(403);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(response.body()).contains("POST /v1/refunds", "stripe.calls of payments.yaml#payments/"
                + "workloads[0]", "add 'POST /v1/refunds'");
        HttpResponse<String> wrongMethod = stripe.call("DELETE", "/stripe/v1/payment_intents/pi_1", null);
        assertThat(wrongMethod.statusCode()).isEqualTo(403);
        assertThat(stripe.relay().requests()).isZero();
        assertThat(stripe.relay().sent()).isEmpty();
        JsonNode record = stripe.auditRecordOf("stripe-refused-1");
        assertThat(record.path("decision").asString()).isEqualTo("deny");
        assertThat(record.path("rule").asString()).isEqualTo("default-deny");
        assertThat(record.path("reason").asString()).contains("stripe.calls");
        assertThat(record.path("stripeStatus").isNull()).isTrue();
    }

    @Test
    void shouldRefuseAWorkloadWithoutAStripeSection() throws Exception {
        HttpClient reporting = TestPki.httpClient(stripe.fixture().ca(), TestPki.workload(stripe.fixture().ca(),
                BrokerFixture.REPORTING));
        HttpResponse<String> response = stripe.call(reporting, "GET", "/stripe/v1/balance", null);
        assertThat(response.statusCode()).isEqualTo(403);
        assertThat(response.body()).contains("has no stripe.key and stripe.calls; add them to that entry");
        assertThat(stripe.relay().requests()).isZero();
    }

    @Test
    void shouldTakeThreeSegmentPathsAwayFromTheConfigServerRoute() throws Exception {
        HttpResponse<String> response = stripe.call("GET", "/stripe/v1/balance", null);
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(response.body()).path("object").asString()).isEqualTo("balance");
        assertThat(stripe.relay().requests()).isEqualTo(1);
        // Two segments: the config route would take it as application "stripe", profile "v1".
        HttpResponse<String> twoSegments = stripe.call("GET", "/stripe/v1", null);
        assertThat(twoSegments.statusCode()).isEqualTo(403);
        assertThat(twoSegments.body()).contains("GET /v1", "stripe.calls");
    }

    @Test
    void shouldRefuseABodyOverOneMebibyteWith413() throws Exception {
        String body = "description=" + "x".repeat(1024 * 1024);
        HttpResponse<String> response = stripe.call("POST", "/stripe/v1/payment_intents", body,
                "Content-Type", "application/x-www-form-urlencoded");
        assertThat(response.statusCode()).isEqualTo(413);
        assertThat(response.body()).contains("1 MiB");
        assertThat(stripe.relay().requests()).isZero();
    }

    @Test
    void shouldRefuseMalformedPathsWith400() throws Exception {
        for (String path : List.of("/stripe/v1/payment_intents/pi%2F1", "/stripe/v1/./balance", "/stripe/",
                "/stripe")) {
            HttpResponse<String> response = stripe.call("GET", path, null);
            assertThat(response.statusCode()).as(path).isEqualTo(400);
            assertThat(response.body()).as(path).contains("Stripe API path");
        }
        assertThat(stripe.relay().requests()).isZero();
    }

    @Test
    void shouldCountCallsByMethodAndStatusClass() throws Exception {
        stripe.call("GET", "/stripe/v1/balance", null);
        stripe.call("POST", "/stripe/v1/refunds", "");
        String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                stripe.broker().management("/actuator/prometheus")).build(), HttpResponse.BodyHandlers.ofString()).body();
        assertThat(metrics).containsPattern("keybroker_stripe_calls_total\\{[^}]*method=\"GET\",outcome=\"2xx\"\\}")
                .containsPattern("keybroker_stripe_calls_total\\{[^}]*method=\"POST\",outcome=\"denied\"\\}")
                .contains("keybroker_stripe_call_latency_seconds_bucket");
    }

    @Test
    void shouldNeverLeakTheKeyIntoResponsesAuditMetricsOrLogs(CapturedOutput output) throws Exception {
        StringBuilder responses = new StringBuilder();
        for (String[] request : List.of(new String[] {"POST", "/stripe/v1/payment_intents", "amount=100&currency=usd"},
                new String[] {"GET", "/stripe/v1/payment_intents/pi_123", null},
                new String[] {"POST", "/stripe/v1/payment_intents", "amount=abc"},
                new String[] {"POST", "/stripe/v1/refunds", "x=1"},
                new String[] {"GET", "/stripe/v1/bad%2Fpath", null})) {
            HttpResponse<String> response = stripe.call(request[0], request[1], request[2],
                    "Content-Type", "application/x-www-form-urlencoded");
            responses.append(response.headers().map()).append(response.body());
        }
        String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                stripe.broker().management("/actuator/prometheus")).build(), HttpResponse.BodyHandlers.ofString()).body();
        assertThat(stripe.relay().sent()).contains(BrokerFixture.CURRENT_VALUE);
        for (String value : List.of(BrokerFixture.CURRENT_VALUE, BrokerFixture.PREVIOUS_VALUE,
                BrokerFixture.WEBHOOK_VALUE)) {
            assertThat(responses.toString()).doesNotContain(value);
            assertThat(Files.readString(stripe.fixture().auditFile())).doesNotContain(value);
            assertThat(metrics).doesNotContain(value);
            assertThat(output.getAll()).doesNotContain(value);
        }
        assertThat(stripe.auditRecords("stripe-call")).isNotEmpty();
    }
}
