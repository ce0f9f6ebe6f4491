package io.keybroker.listener;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.PolicyFixtures;
import io.keybroker.testsupport.RunningBroker;
import io.keybroker.testsupport.TestPki;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** With keybroker.tls.allow-subject-cn=true, a certificate without SPIFFE ID is identified by its CN. */
class SubjectCnFallbackIntegrationTests {

    @Test
    void shouldIdentifyByCnOnlyWhenEnabledAndStillRefuseTwoSpiffeIds() throws Exception {
        BrokerFixture fixture = BrokerFixture.create();
        Files.writeString(fixture.dir().resolve("policy/legacy.yaml"), PolicyFixtures.policy("legacy", """
                    - identity: cn:legacy-billing
                      application: billing
                      allow:
                        - secrets: [stripe/secret-key]
                          stages: [current]
                """));
        Map<String, String> properties = new java.util.LinkedHashMap<>(fixture.properties());
        properties.put("keybroker.tls.allow-subject-cn", "true");
        try (RunningBroker broker = RunningBroker.start(properties)) {
            TestPki.Cert legacy = TestPki.issue(fixture.ca(), TestPki.leaf().commonName("legacy-billing")
                    .dns("billing.internal"));
            HttpResponse<String> response = TestPki.httpClient(fixture.ca(), legacy).send(
                    HttpRequest.newBuilder(broker.uri("/v1/secrets/stripe/secret-key")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).contains(BrokerFixture.CURRENT_VALUE).doesNotContain("previous");
            assertThat(Files.readString(fixture.auditFile())).contains("\"identity\":\"cn:legacy-billing\"");

            TestPki.Cert two = TestPki.issue(fixture.ca(), TestPki.leaf().commonName("legacy-billing")
                    .uri(BrokerFixture.CHECKOUT).uri("spiffe://cluster.local/ns/payments/sa/other"));
            HttpClient client = TestPki.httpClient(fixture.ca(), two);
            assertThatThrownBy(() -> client.send(HttpRequest.newBuilder(broker.uri("/v1/secrets/stripe/secret-key"))
                    .build(), HttpResponse.BodyHandlers.ofString())).isInstanceOf(IOException.class);
        }
    }
}
