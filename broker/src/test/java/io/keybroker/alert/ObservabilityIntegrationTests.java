package io.keybroker.alert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.DefaultBroker;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Metrics and alerts on the real management port of a whole broker. */
class ObservabilityIntegrationTests {

    @RegisterExtension
    static final DefaultBroker BROKER = new DefaultBroker();

    private static int get(String path) throws Exception {
        return BROKER.checkout().send(HttpRequest.newBuilder(BROKER.uri(path)).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private static String metrics() throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(BROKER.management("/actuator/prometheus"))
                .build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    @Test
    void shouldRaiseADenialBurstVisibleInMetricsAndAuditWithinSeconds() throws Exception {
        for (int i = 0; i < 25; i++) {
            assertThat(get("/v1/secrets/stripe/forbidden-" + i)).isEqualTo(403);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> metrics()
                .matches("(?s).*keybroker_alerts_total\\{[^}]*kind=\"denial-burst\"[^}]*} [1-9].*"));
        assertThat(Files.readString(BROKER.fixture().auditFile()))
                .contains("\"type\":\"alert\"", "\"kind\":\"denial-burst\"");
    }

    @Test
    void shouldKeepMetricLabelsBoundedWhateverNamesCallersSend() throws Exception {
        get("/v1/secrets/stripe/secret-key");
        int before = metrics().split("\n").length;
        for (int i = 0; i < 200; i++) {
            get("/v1/secrets/random/" + UUID.randomUUID());
        }
        String after = metrics();
        assertThat(after.split("\n").length - before).isLessThan(20);
        assertThat(after).doesNotContain("random/");
        assertThat(after).contains("keybroker_requests_total", "keybroker_request_latency_seconds_bucket",
                "keybroker_tls_certificate_expiry_seconds{", "keybroker_previous_served_total{",
                "secret=\"stripe/secret-key\"");
        assertThat(after).doesNotContain(BrokerFixture.CURRENT_VALUE, BrokerFixture.PREVIOUS_VALUE);
    }
}
