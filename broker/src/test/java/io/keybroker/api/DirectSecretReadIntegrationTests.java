package io.keybroker.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.PolicyFixtures;
import io.keybroker.testsupport.RunningBroker;
import io.keybroker.testsupport.SecretsYaml;
import io.keybroker.testsupport.TestPki;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The listener's direct reads (keybroker.listen.direct-reads) against the full path, over real mTLS: the same
 * requests to a broker with them on and to one with them off get the same status, headers, body and audit
 * records; the direct path answers only the common case, and every refusal still takes the full path with its
 * one record.
 */
class DirectSecretReadIntegrationTests {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String LIMITED = "spiffe://cluster.local/ns/payments/sa/limited";
    /** Fields of a response or record that differ between any two runs. */
    private static final List<String> VOLATILE = List.of("seq", "prev", "hash", "time", "latencyMs", "rotatedAt");

    /** What a client sees and what the trail records for one request. */
    private record Exchange(int status, Map<String, String> headers, String body, List<String> records) {
    }

    /** The exchanges of one broker, and for each whether the listener answered it directly. */
    private record Run(List<Exchange> seen, List<Boolean> directly) {
    }

    private static Run run(boolean direct, List<String[]> requests, Instant now) throws Exception {
        BrokerFixture fixture = BrokerFixture.create();
        // The same secrets, to the second, for both brokers.
        fixture.writeSecrets(SecretsYaml.fixtureDefaults(now));
        // A workload granted a cached secret at 2 requests a minute: its third read is over the limit.
        Files.writeString(fixture.dir().resolve("policy/limited.yaml"), PolicyFixtures.policy("limited", """
                    - identity: %s
                      application: limited
                      rateLimit: 2/m
                      allow:
                        - secrets: [stripe/secret-key]
                          stages: [current]
                """.formatted(LIMITED)));
        Map<String, String> properties = fixture.properties();
        properties.put("keybroker.listen.direct-reads", String.valueOf(direct));
        List<Exchange> seen = new ArrayList<>();
        List<Boolean> directly = new ArrayList<>();
        try (RunningBroker broker = RunningBroker.start(properties)) {
            var answeredDirectly = broker.bean(MeterRegistry.class).get("keybroker.requests.direct").counter();
            HttpClient checkout = TestPki.httpClient(fixture.ca(), fixture.checkout());
            HttpClient reporting = TestPki.httpClient(fixture.ca(), TestPki.workload(fixture.ca(),
                    BrokerFixture.REPORTING));
            HttpClient limited = TestPki.httpClient(fixture.ca(), TestPki.workload(fixture.ca(), LIMITED));
            for (String[] request : requests) {
                HttpClient client = switch (request[0]) {
                    case "reporting" -> reporting;
                    case "limited" -> limited;
                    default -> checkout;
                };
                String requestId = request[2];
                double before = answeredDirectly.count();
                HttpResponse<String> response = client.send(HttpRequest.newBuilder(broker.uri(request[1]))
                        .timeout(Duration.ofSeconds(10)).header("X-Request-Id", requestId).build(),
                        HttpResponse.BodyHandlers.ofString());
                Map<String, String> headers = new TreeMap<>();
                response.headers().map().forEach((name, values) -> headers.put(name.toLowerCase(Locale.ROOT),
                        String.join(",", values)));
                headers.remove("content-length"); // the body's rotatedAt has as many digits as its instant needs
                seen.add(new Exchange(response.statusCode(), headers, stable(response.body()),
                        records(fixture, requestId)));
                directly.add(answeredDirectly.count() > before);
            }
        }
        return new Run(seen, directly);
    }

    private static List<String> records(BrokerFixture fixture, String requestId) throws Exception {
        List<String> found = new ArrayList<>();
        for (String line : Files.readAllLines(fixture.auditFile())) {
            JsonNode node = JSON.readTree(line);
            if ("access".equals(node.path("type").asString())
                    && requestId.equals(node.path("requestId").asString())) {
                found.add(stable(line));
            }
        }
        return found;
    }

    /** A JSON document without the fields that differ between runs; other text as it is. */
    private static String stable(String text) {
        if (!text.startsWith("{")) {
            return text;
        }
        JsonNode node = JSON.readTree(text);
        if (node instanceof ObjectNode object) {
            object.remove(VOLATILE);
        }
        return node.toString();
    }

    @Test
    void shouldAnswerEveryRequestAsTheFullPathDoes() throws Exception {
        String id = "direct-" + UUID.randomUUID() + "-";
        List<String[]> requests = new ArrayList<>();
        // Granted and cached: answered directly when on.
        requests.add(new String[] {"checkout", "/v1/secrets/stripe/secret-key", id + 1});
        requests.add(new String[] {"checkout", "/v1/secrets/stripe/secret-key", id + 2});
        requests.add(new String[] {"checkout", "/v1/secrets/stripe/webhook-secret", id + 3});
        // The full path's cases: not granted, absent, an invalid name, a query, HEAD-less variants of the route.
        requests.add(new String[] {"checkout", "/v1/secrets/stripe/other-key", id + 4});
        requests.add(new String[] {"checkout", "/v1/secrets/stripe/missing", id + 5});
        requests.add(new String[] {"checkout", "/v1/secrets/Stripe/Bad", id + 6});
        requests.add(new String[] {"checkout", "/v1/secrets/stripe/secret-key?x=1", id + 7});
        // reporting may not read stripe/secret-key: denials, then its rate limit (3 a minute).
        for (int i = 8; i <= 12; i++) {
            requests.add(new String[] {"reporting", "/v1/secrets/stripe/secret-key", id + i});
        }
        // limited may, twice a minute: served twice, then refused for the rate limit.
        for (int i = 13; i <= 16; i++) {
            requests.add(new String[] {"limited", "/v1/secrets/stripe/secret-key", id + i});
        }
        // The AWS agent's form: its plain GET answered directly when on; every other form takes the full path.
        requests.add(new String[] {"checkout", "/secretsmanager/get?secretId=stripe/secret-key", id + 17});
        requests.add(new String[] {"checkout", "/secretsmanager/get?secretId=stripe/webhook-secret", id + 18});
        requests.add(new String[] {"checkout", "/secretsmanager/get?secretId=stripe/secret-key&versionStage="
                + "AWSPREVIOUS", id + 19});
        requests.add(new String[] {"checkout", "/secretsmanager/get?secretId=stripe%2Fsecret-key", id + 20});
        requests.add(new String[] {"checkout", "/secretsmanager/get?secretId=stripe/other-key", id + 21});
        requests.add(new String[] {"checkout", "/secretsmanager/get?secretId=Stripe/Bad", id + 22});
        requests.add(new String[] {"checkout", "/secretsmanager/get?secretId=", id + 23});
        requests.add(new String[] {"checkout", "/secretsmanager/get?secretId=stripe/missing", id + 24});
        requests.add(new String[] {"reporting", "/secretsmanager/get?secretId=stripe/secret-key", id + 25});
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        Run on = run(true, requests, now);
        Run off = run(false, requests, now);
        List<Exchange> direct = on.seen();
        List<Exchange> full = off.seen();
        // Which requests the listener answered itself: the granted, cached, plain reads of both shapes only.
        List<Integer> answeredDirectly = new ArrayList<>();
        for (int i = 0; i < requests.size(); i++) {
            if (on.directly().get(i)) {
                answeredDirectly.add(i + 1);
            }
        }
        assertThat(answeredDirectly).containsExactly(1, 2, 3, 13, 14, 17, 18);
        assertThat(off.directly()).doesNotContain(true);
        for (int i = 0; i < requests.size(); i++) {
            String what = String.join(" ", requests.get(i));
            assertThat(direct.get(i)).as(what).isEqualTo(full.get(i));
            assertThat(direct.get(i).records()).as(what + ": one record").hasSize(1);
        }
        assertThat(direct.get(0).status()).isEqualTo(200);
        assertThat(direct.get(0).body()).contains(BrokerFixture.CURRENT_VALUE, BrokerFixture.PREVIOUS_VALUE);
        assertThat(direct.get(0).headers()).containsEntry("x-request-id", id + 1)
                .containsEntry("cache-control", "no-store").containsEntry("etag", "\"7\"");
        assertThat(direct.get(3).status()).isEqualTo(403);
        assertThat(direct.get(11).status()).as("reporting over 3 a minute").isEqualTo(429);
        assertThat(direct.subList(12, 16)).extracting(Exchange::status).containsExactly(200, 200, 429, 429);
        assertThat(direct.subList(16, 25)).extracting(Exchange::status)
                .containsExactly(200, 200, 200, 200, 403, 400, 400, 404, 429);
        assertThat(direct.get(16).body()).contains("\"Name\":\"stripe/secret-key\"", "AWSCURRENT",
                BrokerFixture.CURRENT_VALUE).doesNotContain(BrokerFixture.PREVIOUS_VALUE);
        assertThat(direct.get(16).headers()).containsEntry("x-request-id", id + 17).containsEntry("etag", "\"7\"");
    }
}
