package io.keybroker.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.DefaultBroker;
import io.keybroker.testsupport.PolicyFixtures;
import io.keybroker.testsupport.SecretsYaml;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The audit trail and the previous-served counter record only what a response handed out, and every request
 * ends in one record, over real mTLS against a whole broker with the file backend.
 */
class AuditTruthIntegrationTests {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String COLLIDE = "spiffe://cluster.local/ns/payments/sa/collide";

    @RegisterExtension
    static final DefaultBroker BROKER = new DefaultBroker(AuditTruthIntegrationTests::prepare);

    private static void prepare(BrokerFixture fixture, Map<String, String> properties) throws Exception {
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        fixture.writeSecrets(SecretsYaml.empty()
                .version("test/stripe/secret-key", "6", BrokerFixture.PREVIOUS_VALUE, now.minus(90, ChronoUnit.DAYS))
                .version("test/stripe/secret-key", "7", BrokerFixture.CURRENT_VALUE, now.minus(1, ChronoUnit.HOURS))
                .version("test/stripe/dup", "1", "sk_test_dupOld", now.minus(2, ChronoUnit.HOURS))
                .version("test/stripe/dup", "2", "sk_test_dupNew", now.minus(1, ChronoUnit.HOURS))
                .version("test/stripe/dup/previous", "1", "sk_test_dupPrevious", now));
        Files.writeString(fixture.dir().resolve("policy/collide.yaml"), PolicyFixtures.policy("collide", """
                    - identity: %s
                      application: collide
                      allow:
                        - secrets: [stripe/dup, stripe/dup/previous]
                          stages: [current, previous]
                """.formatted(COLLIDE)), StandardCharsets.UTF_8);
    }

    private static HttpResponse<String> send(HttpClient client, String method, String path, String requestId)
            throws Exception {
        return client.send(HttpRequest.newBuilder(BROKER.uri(path)).timeout(Duration.ofSeconds(10))
                .header("X-Request-Id", requestId).method(method, HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static List<JsonNode> records(String requestId) throws Exception {
        List<JsonNode> found = new ArrayList<>();
        for (String line : Files.readAllLines(BROKER.fixture().auditFile())) {
            JsonNode node = JSON.readTree(line);
            if ("access".equals(node.path("type").asString()) && requestId.equals(node.path("requestId").asString())) {
                found.add(node);
            }
        }
        return found;
    }

    private static double previousServed() {
        Counter counter = BROKER.running().bean(MeterRegistry.class).find("keybroker.previous.served").counter();
        return counter == null ? 0 : counter.count();
    }

    private static String id() {
        return "truth-" + UUID.randomUUID();
    }

    @Test
    void shouldRecordAnAgentVersionIdThatMatchesNothingAsNotFoundWithoutVersions() throws Exception {
        double before = previousServed();
        String requestId = id();
        HttpResponse<String> response = send(BROKER.checkout(), "GET",
                "/secretsmanager/get?secretId=stripe/secret-key&versionId=99", requestId);
        assertThat(response.statusCode()).isEqualTo(404);
        assertThat(records(requestId)).singleElement().satisfies(record -> {
            assertThat(record.path("decision").asString()).isEqualTo("not-found");
            assertThat(record.path("versions").isEmpty()).isTrue();
        });
        assertThat(previousServed()).isEqualTo(before);
    }

    @Test
    void shouldRecordOnlyTheOneVersionAnAgentRequestReturned() throws Exception {
        String requestId = id();
        assertThat(send(BROKER.checkout(), "GET", "/secretsmanager/get?secretId=stripe/secret-key&versionId=6",
                requestId).statusCode()).isEqualTo(200);
        assertThat(records(requestId)).singleElement().satisfies(record -> {
            assertThat(record.path("decision").asString()).isEqualTo("allow");
            assertThat(record.path("versions").propertyNames()).containsExactly("previous");
        });
    }

    @Test
    void shouldRecordHeadAndRefreshWithoutServedVersionsAndNotCountThemAsPreviousServings() throws Exception {
        double before = previousServed();
        String head = id();
        assertThat(send(BROKER.checkout(), "HEAD", "/v1/secrets/stripe/secret-key", head).statusCode()).isEqualTo(200);
        String refresh = id();
        assertThat(send(BROKER.checkout(), "POST", "/v1/secrets/stripe/secret-key/refresh", refresh).statusCode())
                .isEqualTo(200);
        for (String requestId : List.of(head, refresh)) {
            assertThat(records(requestId)).as(requestId).singleElement().satisfies(record -> {
                assertThat(record.path("decision").asString()).isEqualTo("allow");
                assertThat(record.path("versions").isEmpty()).isTrue();
            });
        }
        assertThat(previousServed()).isEqualTo(before);
        String get = id();
        send(BROKER.checkout(), "GET", "/v1/secrets/stripe/secret-key", get);
        assertThat(records(get)).singleElement().satisfies(record -> assertThat(record.path("versions")
                .propertyNames()).containsExactlyInAnyOrder("current", "previous"));
        assertThat(previousServed()).isEqualTo(before + 1);
    }

    @Test
    void shouldAuditAConfigRequestThatServesNothing() throws Exception {
        // reporting is granted by wildcard only, so the Spring Cloud Config endpoint has nothing to list.
        HttpClient reporting = BROKER.client(BrokerFixture.REPORTING);
        String requestId = id();
        assertThat(send(reporting, "GET", "/reporting/default", requestId).statusCode()).isEqualTo(200);
        assertThat(records(requestId)).singleElement().satisfies(record -> {
            assertThat(record.path("decision").asString()).isEqualTo("allow");
            assertThat(record.path("endpoint").asString()).isEqualTo("config");
            assertThat(record.path("identity").asString()).isEqualTo(BrokerFixture.REPORTING);
        });
    }

    @Test
    void shouldNeverEmitOneConfigKeyTwice() throws Exception {
        // stripe/dup's previous version and stripe/dup/previous both become stripe.dup.previous.
        HttpClient collide = BROKER.client(COLLIDE);
        String requestId = id();
        HttpResponse<String> response = send(collide, "GET", "/collide/default", requestId);
        assertThat(response.statusCode()).isEqualTo(409);
        assertThat(response.body()).contains("stripe.dup.previous").doesNotContain("sk_test_dup");
        assertThat(records(requestId)).singleElement().satisfies(record -> {
            assertThat(record.path("decision").asString()).isEqualTo("error");
            assertThat(record.path("rule").asString()).isEqualTo("property-collision");
        });
    }
}
