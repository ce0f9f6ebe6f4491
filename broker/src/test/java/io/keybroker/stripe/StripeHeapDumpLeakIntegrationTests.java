package io.keybroker.stripe;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.net.Webhook;
import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.BrokerProcess;
import io.keybroker.testsupport.HeapDump;
import io.keybroker.testsupport.PeerProcess;
import io.keybroker.testsupport.PolicyFixtures;
import io.keybroker.testsupport.TestPki;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The claim of docs/stripe-proxy.md, checked on the broker as it ships: after many Stripe calls (the key decrypted
 * into the outbound Authorization header each time) and webhook verifications (the signing secret decrypted into
 * the HMAC), neither value is left in any live object of the broker's heap. Same method as
 * {@code HeapDumpLeakIntegrationTests}: a separate broker process, a live-objects dump, a positive control.
 */
@Tag("jar")
class StripeHeapDumpLeakIntegrationTests {

    private static final String MARKER = "heapdump-marker-stripe7qk3";
    private static final int ROUNDS = 40;

    @TempDir
    Path dumps;

    @Test
    void shouldKeepNeitherTheKeyNorTheWebhookSecretInTheLiveHeapAfterCallsAndVerifications() throws Exception {
        BrokerFixture fixture = BrokerFixture.create().withStripe();
        Files.writeString(fixture.dir().resolve("policy/marker.yaml"), PolicyFixtures.policy("marker", """
                    - identity: spiffe://cluster.local/ns/heap/sa/%s
                      application: %s
                      stripe:
                        webhookSecrets: [stripe/webhook-secret]
                """.formatted(MARKER, MARKER)), StandardCharsets.UTF_8);
        HttpClient checkout = TestPki.httpClient(fixture.ca(), fixture.checkout());
        try (PeerProcess stripeMock = PeerProcess.stripeMock();
                BrokerProcess broker = BrokerProcess.start(fixture, Map.of("keybroker.file.reload-interval", "1h",
                        "keybroker.stripe.api-base", "http://127.0.0.1:" + stripeMock.port()))) {
            for (int i = 0; i < ROUNDS; i++) {
                assertThat(send(checkout, HttpRequest.newBuilder(broker.uri("/stripe/v1/balance")).GET()))
                        .contains("balance");
                assertThat(send(checkout, HttpRequest.newBuilder(broker.uri("/stripe/v1/payment_intents"))
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .POST(HttpRequest.BodyPublishers.ofString("amount=2000&currency=usd"))))
                        .contains("payment_intent");
                String payload = "{\"id\":\"evt_heap" + i + "\",\"object\":\"event\",\"type\":\"invoice.paid\"}";
                long t = Webhook.Util.getTimeNow();
                String signature = "t=" + t + ",v1=" + Webhook.Util.computeHmacSha256(BrokerFixture.WEBHOOK_VALUE,
                        t + "." + payload);
                assertThat(send(checkout, HttpRequest.newBuilder(broker.uri(
                        "/v1/webhooks/stripe/verify?secret=stripe/webhook-secret")).header("Stripe-Signature",
                        signature).POST(HttpRequest.BodyPublishers.ofString(payload))))
                        .contains("\"verified\":true");
            }
            Path file = dumps.resolve("broker.hprof");
            Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                    Long.toString(broker.pid()), "GC.heap_dump", file.toString()).redirectErrorStream(true).start();
            assertThat(jcmd.waitFor(120, TimeUnit.SECONDS)).as("jcmd finished").isTrue();
            assertThat(jcmd.exitValue()).as(new String(jcmd.getInputStream().readAllBytes(),
                    StandardCharsets.UTF_8)).isZero();
            try {
                HeapDump dump = HeapDump.read(file);
                assertThat(dump.find(MARKER)).as("the positive control: the policy's marker is live in the broker")
                        .isNotEmpty();
                for (String value : List.of(BrokerFixture.CURRENT_VALUE, BrokerFixture.WEBHOOK_VALUE)) {
                    List<HeapDump.Hit> hits = dump.find(value);
                    assertThat(hits).as(hits.size() + " live copies of a value used for Stripe calls or webhook "
                            + "verification: " + hits).isEmpty();
                }
            } finally {
                Files.deleteIfExists(file);
            }
        }
    }

    private static String send(HttpClient client, HttpRequest.Builder request) throws Exception {
        HttpResponse<String> response = client.send(request.timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return response.body();
    }
}
