package io.keybroker.stripe;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.StripeClient;
import com.stripe.model.Event;
import com.stripe.model.v2.core.EventNotification;
import com.stripe.net.Webhook;
import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.DefaultBroker;
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
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code POST /v1/webhooks/stripe/verify} over real mTLS against the whole broker. Signatures are made with
 * stripe-java's own {@code Webhook.Util}, and what the broker verifies is then parsed by stripe-java's
 * {@code Webhook.constructEvent} (and, for thin events, {@code StripeClient.parseEventNotification}), so the
 * broker and Stripe's SDK agree on the scheme.
 */
@ExtendWith(OutputCaptureExtension.class)
class WebhookVerifyIntegrationTests {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    /** stripe/webhook-secret: rotated a day ago, the old value still inside the grace window. */
    private static final String OLD_SECRET = "whsec_oldRotatedYesterday2Bv6Nc9Xm";
    /** stripe/webhook-rolled: rotated ten days ago, past the 7-day grace window. */
    private static final String ROLLED_OLD = "whsec_rolledLongAgo7Kp3Ld8Qs1Wz";
    private static final String ROLLED_NEW = "whsec_rolledCurrent4Hj9Tf2Mv6Yx";

    @RegisterExtension
    static final DefaultBroker BROKER = new DefaultBroker(WebhookVerifyIntegrationTests::prepare);

    private static void prepare(BrokerFixture fixture, Map<String, String> properties) {
        fixture.withStripe();
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        fixture.writeSecrets(SecretsYaml.empty()
                .version("test/stripe/webhook-secret", "1", OLD_SECRET, now.minus(60, ChronoUnit.DAYS))
                .version("test/stripe/webhook-secret", "2", BrokerFixture.WEBHOOK_VALUE, now.minus(1, ChronoUnit.DAYS))
                .version("test/stripe/webhook-rolled", "1", ROLLED_OLD, now.minus(90, ChronoUnit.DAYS))
                .version("test/stripe/webhook-rolled", "2", ROLLED_NEW, now.minus(10, ChronoUnit.DAYS)));
    }

    private static String event(String id, String type) {
        return """
                {
                  "id": "%s",
                  "object": "event",
                  "api_version": "2024-06-20",
                  "created": %d,
                  "data": {"object": {"id": "pi_3MtwBwLkdIwHu7ix28a3tqPa", "object": "payment_intent", "amount": 2000}},
                  "livemode": false,
                  "pending_webhooks": 1,
                  "request": {"id": null, "idempotency_key": null},
                  "type": "%s"
                }""".formatted(id, Instant.now().getEpochSecond(), type);
    }

    private static String newEventId() {
        return "evt_" + UUID.randomUUID().toString().replace("-", "");
    }

    /** The header Stripe sends, made with stripe-java's own HMAC helper. */
    private static String sign(String payload, String secret, long timestamp) throws Exception {
        return "t=" + timestamp + ",v1=" + Webhook.Util.computeHmacSha256(secret, timestamp + "." + payload);
    }

    private static HttpResponse<String> verify(HttpClient client, String secretName, String payload,
            String signature) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(BROKER.uri("/v1/webhooks/stripe/verify?secret="
                + secretName)).timeout(Duration.ofSeconds(10)).POST(HttpRequest.BodyPublishers.ofString(payload))
                .header("Content-Type", "application/json");
        if (signature != null) {
            request.header("Stripe-Signature", signature);
        }
        return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void shouldVerifyAStripeSignatureAndLetStripeJavaParseTheEvent() throws Exception {
        String id = newEventId();
        String payload = event(id, "payment_intent.succeeded");
        long t = Webhook.Util.getTimeNow();
        String header = sign(payload, BrokerFixture.WEBHOOK_VALUE, t);
        HttpResponse<String> response = verify(BROKER.checkout(), "stripe/webhook-secret", payload, header);
        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode answer = JSON.readTree(response.body());
        assertThat(answer.path("verified").asBoolean()).isTrue();
        assertThat(answer.path("eventId").asString()).isEqualTo(id);
        assertThat(answer.path("type").asString()).isEqualTo("payment_intent.succeeded");
        assertThat(answer.path("signedWith").asString()).isEqualTo("current");
        assertThat(answer.path("timestamp").asString()).isEqualTo(Instant.ofEpochSecond(t).toString());
        // What the broker verified, Stripe's SDK accepts and parses (the workload would parse without checking).
        Event event = Webhook.constructEvent(payload, header, BrokerFixture.WEBHOOK_VALUE);
        assertThat(event.getId()).isEqualTo(id);
        assertThat(event.getType()).isEqualTo("payment_intent.succeeded");
    }

    @Test
    void shouldAcceptAnyOneOfSeveralV1Signatures() throws Exception {
        String payload = event(newEventId(), "customer.created");
        long t = Webhook.Util.getTimeNow();
        String header = "t=" + t + ",v1=" + Webhook.Util.computeHmacSha256("whsec_someOtherEndpoint", t + "."
                + payload) + ",v1=" + Webhook.Util.computeHmacSha256(BrokerFixture.WEBHOOK_VALUE, t + "." + payload)
                + ",v0=" + "0".repeat(64);
        assertThat(verify(BROKER.checkout(), "stripe/webhook-secret", payload, header).statusCode()).isEqualTo(200);
        assertThat(Webhook.constructEvent(payload, header, BrokerFixture.WEBHOOK_VALUE).getType())
                .isEqualTo("customer.created");
    }

    @Test
    void shouldAcceptThePreviousSecretInsideTheGraceWindowAndSaySo() throws Exception {
        String payload = event(newEventId(), "charge.refunded");
        HttpResponse<String> response = verify(BROKER.checkout(), "stripe/webhook-secret", payload,
                sign(payload, OLD_SECRET, Webhook.Util.getTimeNow()));
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(response.body()).path("signedWith").asString()).isEqualTo("previous");
    }

    @Test
    void shouldRefuseThePreviousSecretAfterTheGraceWindow() throws Exception {
        String payload = event(newEventId(), "charge.refunded");
        HttpResponse<String> old = verify(BROKER.checkout(), "stripe/webhook-rolled", payload,
                sign(payload, ROLLED_OLD, Webhook.Util.getTimeNow()));
        assertThat(old.statusCode()).isEqualTo(400);
        assertThat(old.body()).contains("no v1 signature", "current value of stripe/webhook-rolled")
                .doesNotContain("or its previous value");
        HttpResponse<String> current = verify(BROKER.checkout(), "stripe/webhook-rolled", payload,
                sign(payload, ROLLED_NEW, Webhook.Util.getTimeNow()));
        assertThat(current.statusCode()).isEqualTo(200);
    }

    @Test
    void shouldRefuseATamperedBodyAWrongSecretAnOldTimestampAndAMissingHeader() throws Exception {
        String payload = event(newEventId(), "payment_intent.succeeded");
        long now = Webhook.Util.getTimeNow();
        HttpResponse<String> tampered = verify(BROKER.checkout(), "stripe/webhook-secret",
                payload.replace("\"amount\": 2000", "\"amount\": 1"), sign(payload, BrokerFixture.WEBHOOK_VALUE, now));
        assertThat(tampered.statusCode()).isEqualTo(400);
        assertThat(tampered.body()).contains("no v1 signature", "the body was changed");
        HttpResponse<String> wrongSecret = verify(BROKER.checkout(), "stripe/webhook-secret", payload,
                sign(payload, "whsec_notTheRightOne", now));
        assertThat(wrongSecret.statusCode()).isEqualTo(400);
        assertThat(wrongSecret.body()).contains("signed with another secret");
        HttpResponse<String> old = verify(BROKER.checkout(), "stripe/webhook-secret", payload,
                sign(payload, BrokerFixture.WEBHOOK_VALUE, now - 600));
        assertThat(old.statusCode()).isEqualTo(400);
        assertThat(old.body()).contains("more than PT5M from now");
        HttpResponse<String> missing = verify(BROKER.checkout(), "stripe/webhook-secret", payload, null);
        assertThat(missing.statusCode()).isEqualTo(400);
        assertThat(missing.body()).contains("no Stripe-Signature header");
        HttpResponse<String> malformed = verify(BROKER.checkout(), "stripe/webhook-secret", payload, "v1=abc");
        assertThat(malformed.statusCode()).isEqualTo(400);
        assertThat(malformed.body()).contains("t=TIMESTAMP");
        for (HttpResponse<String> response : List.of(tampered, wrongSecret, old, missing, malformed)) {
            assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        }
    }

    @Test
    void shouldRefuseAReplayOfAnEventIdInsideTheWindow() throws Exception {
        String payload = event(newEventId(), "invoice.paid");
        String header = sign(payload, BrokerFixture.WEBHOOK_VALUE, Webhook.Util.getTimeNow());
        assertThat(verify(BROKER.checkout(), "stripe/webhook-secret", payload, header).statusCode()).isEqualTo(200);
        HttpResponse<String> replay = verify(BROKER.checkout(), "stripe/webhook-secret", payload, header);
        assertThat(replay.statusCode()).isEqualTo(400);
        assertThat(replay.body()).contains("already verified", "a replay");
        // Re-signed a second later: still the same event, still a replay.
        HttpResponse<String> resigned = verify(BROKER.checkout(), "stripe/webhook-secret", payload,
                sign(payload, BrokerFixture.WEBHOOK_VALUE, Webhook.Util.getTimeNow() + 1));
        assertThat(resigned.statusCode()).isEqualTo(400);
    }

    @Test
    void shouldVerifyAThinEventWithTheSameScheme() throws Exception {
        String id = "evt_test_65R9Ijk8Yd3Ck5o1qBSF" + UUID.randomUUID().toString().substring(0, 8);
        String payload = """
                {
                  "id": "%s",
                  "object": "v2.core.event",
                  "type": "v1.billing.meter.error_report_triggered",
                  "livemode": false,
                  "created": "2026-12-07T10:00:00.000Z",
                  "related_object": {"id": "mtr_test_61R9", "type": "billing.meter", "url": "/v1/billing/meters/mtr_test_61R9"}
                }""".formatted(id);
        String header = sign(payload, BrokerFixture.WEBHOOK_VALUE, Webhook.Util.getTimeNow());
        HttpResponse<String> response = verify(BROKER.checkout(), "stripe/webhook-secret", payload, header);
        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode answer = JSON.readTree(response.body());
        assertThat(answer.path("eventId").asString()).isEqualTo(id);
        assertThat(answer.path("type").asString()).isEqualTo("v1.billing.meter.error_report_triggered");
        EventNotification notification = StripeClient.builder().setApiKey("sk_test_unused").build()
                .parseEventNotification(payload, header, BrokerFixture.WEBHOOK_VALUE);
        assertThat(notification.getId()).isEqualTo(id);
    }

    @Test
    void shouldAllowOnlyTheSecretsOfStripeWebhookSecrets() throws Exception {
        String payload = event(newEventId(), "invoice.paid");
        String header = sign(payload, BrokerFixture.CURRENT_VALUE, Webhook.Util.getTimeNow());
        // checkout may read stripe/secret-key, but may not verify against it.
        HttpResponse<String> notListed = verify(BROKER.checkout(), "stripe/secret-key", payload, header);
        assertThat(notListed.statusCode()).isEqualTo(403);
        assertThat(notListed.body()).contains("add it to stripe.webhookSecrets of payments.yaml#payments/"
                + "workloads[0]");
        HttpClient reporting = BROKER.client(BrokerFixture.REPORTING);
        HttpResponse<String> otherWorkload = verify(reporting, "stripe/webhook-secret", payload,
                sign(payload, BrokerFixture.WEBHOOK_VALUE, Webhook.Util.getTimeNow()));
        assertThat(otherWorkload.statusCode()).isEqualTo(403);
        HttpResponse<String> badName = verify(BROKER.checkout(), "Stripe/../x", payload, header);
        assertThat(badName.statusCode()).isEqualTo(400);
    }

    @Test
    void shouldAuditEachVerificationOnceAndNeverLeakTheSecret(CapturedOutput output) throws Exception {
        String payload = event(newEventId(), "invoice.paid");
        String header = sign(payload, BrokerFixture.WEBHOOK_VALUE, Webhook.Util.getTimeNow());
        HttpResponse<String> ok = verify(BROKER.checkout(), "stripe/webhook-secret", payload, header);
        HttpResponse<String> replay = verify(BROKER.checkout(), "stripe/webhook-secret", payload, header);
        String audit = Files.readString(BROKER.fixture().auditFile());
        List<JsonNode> records = audit.lines().map(JSON::readTree)
                .filter(node -> "webhook".equals(node.path("endpoint").asString())
                        && node.path("requestId").asString().equals(ok.headers().firstValue("X-Request-Id")
                                .orElseThrow()))
                .toList();
        assertThat(records).hasSize(1);
        assertThat(records.get(0).path("decision").asString()).isEqualTo("allow");
        assertThat(records.get(0).path("rule").asString())
                .isEqualTo("payments.yaml#payments/workloads[0]/stripe/webhookSecrets[0]");
        assertThat(records.get(0).path("versions").path("current").asString()).isEqualTo("2");
        for (String value : List.of(BrokerFixture.WEBHOOK_VALUE, OLD_SECRET, ROLLED_OLD, ROLLED_NEW)) {
            assertThat(ok.body() + replay.body()).doesNotContain(value);
            assertThat(audit).doesNotContain(value);
            assertThat(output.getAll()).doesNotContain(value);
        }
    }
}
