package io.keybroker.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.DefaultBroker;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The /v1 API over real mTLS against the whole broker with the file backend. */
@ExtendWith(OutputCaptureExtension.class)
class SecretsApiIntegrationTests {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    @RegisterExtension
    static final DefaultBroker BROKER = new DefaultBroker();

    static HttpResponse<String> get(HttpClient client, String rawPath, String... headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(BROKER.uri(rawPath)).timeout(Duration.ofSeconds(10));
        if (headers.length > 0) {
            request.headers(headers);
        }
        return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void shouldServeCurrentAndPreviousWithTheContractHeaders() throws Exception {
        HttpResponse<String> response = get(BROKER.checkout(), "/v1/secrets/stripe/secret-key");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(
                type -> assertThat(type).startsWith("application/json"));
        assertThat(response.headers().firstValue("Cache-Control")).hasValue("no-store");
        assertThat(response.headers().firstValue("ETag")).hasValue("\"7\"");
        assertThat(response.headers().firstValue("X-Request-Id")).isPresent();
        JsonNode body = JSON.readTree(response.body());
        assertThat(body.path("name").asString()).isEqualTo("stripe/secret-key");
        assertThat(body.path("current").path("version").asString()).isEqualTo("7");
        assertThat(body.path("current").path("value").asString()).isEqualTo(BrokerFixture.CURRENT_VALUE);
        assertThat(body.path("previous").path("version").asString()).isEqualTo("6");
        assertThat(body.path("previous").path("value").asString()).isEqualTo(BrokerFixture.PREVIOUS_VALUE);
        assertThat(body.path("current").path("createdAt").asString()).endsWith("Z");
        assertThat(body.has("rotatedAt")).isTrue();
    }

    @Test
    void shouldEchoAPlausibleRequestIdAndReplaceAnImplausibleOne() throws Exception {
        assertThat(get(BROKER.checkout(), "/v1/secrets/stripe/secret-key", "X-Request-Id", "trace-42").headers()
                .firstValue("X-Request-Id")).hasValue("trace-42");
        assertThat(get(BROKER.checkout(), "/v1/secrets/stripe/secret-key", "X-Request-Id", "a b\"<script>").headers()
                .firstValue("X-Request-Id")).hasValueSatisfying(id -> assertThat(id).doesNotContain(" ", "<"));
    }

    @Test
    void shouldServeOnlyTheGrantedStage() throws Exception {
        JsonNode body = JSON.readTree(get(BROKER.checkout(), "/v1/secrets/stripe/webhook-secret").body());
        assertThat(body.path("current").path("value").asString()).isEqualTo(BrokerFixture.WEBHOOK_VALUE);
        assertThat(body.has("previous")).isFalse();
    }

    @Test
    void shouldAnswer403AlikeForUngrantedNamesThatExistAndThatDoNot() throws Exception {
        HttpResponse<String> exists = get(BROKER.checkout(), "/v1/secrets/stripe/other-key");
        HttpResponse<String> absent = get(BROKER.checkout(), "/v1/secrets/nothing/here");
        assertThat(exists.statusCode()).isEqualTo(403);
        assertThat(absent.statusCode()).isEqualTo(403);
        assertThat(exists.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        JsonNode problem = JSON.readTree(exists.body());
        assertThat(problem.path("status").asInt()).isEqualTo(403);
        assertThat(problem.path("detail").asString()).contains(BrokerFixture.CHECKOUT);
        assertThat(JSON.readTree(absent.body()).path("title").asString()).isEqualTo(problem.path("title").asString());
    }

    @Test
    void shouldAnswer404OnlyForAGrantedNameTheBackendLacks() throws Exception {
        HttpResponse<String> response = get(BROKER.checkout(), "/v1/secrets/stripe/missing");
        assertThat(response.statusCode()).isEqualTo(404);
        assertThat(JSON.readTree(response.body()).path("detail").asString()).contains("stripe/missing");
    }

    @ParameterizedTest
    @ValueSource(strings = {"/v1/secrets/stripe/../prod/key", "/v1/secrets/stripe//key", "/v1/secrets/Stripe/Key",
            "/v1/secrets/stripe%2Fsecret-key", "/v1/secrets/stripe/key%00", "/v1/secrets/.hidden",
            "/v1/secrets/stripe/secret-key%2e%2e", "/v1/secrets/", "/v1/secrets/stripe/secret-key/"})
    void shouldAnswer400ForMalformedNames(String path) throws Exception {
        HttpResponse<String> response = get(BROKER.checkout(), path);
        assertThat(response.statusCode()).as(path).isEqualTo(400);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    }

    /**
     * Paths that Spring's route matcher reads one way (escapes decoded, matrix parameters set aside) and the name
     * parser another: on every route, the same 400, nothing served, one audit record that says invalid.
     */
    @ParameterizedTest
    @ValueSource(strings = {"/v1/secrets;x/stripe/secret-key", "/v%31/secrets/stripe/secret-key",
            "/v1/secret%73/stripe/secret-key", "/v1;x/secrets/stripe/secret-key",
            "/v1/secrets/stripe/secret-key;x/refresh", "/secretsmanager/get;x?secretId=stripe/secret-key",
            "/secretsmanager/g%65t?secretId=stripe/secret-key", "/checkout;x/default", "/checkout/default;x",
            "/%63heckout/default", "/stripe;x/v1/balance"})
    void shouldRefuseMatrixParametersAndEscapesThatRoutesAndNamesWouldReadDifferently(String path)
            throws Exception {
        long before = Files.readAllLines(BROKER.fixture().auditFile()).size();
        HttpResponse<String> response = get(BROKER.checkout(), path);
        assertThat(response.statusCode()).as(path).isEqualTo(400);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(response.body()).doesNotContain(BrokerFixture.CURRENT_VALUE).doesNotContain("sk_test_");
        List<String> added = Files.readAllLines(BROKER.fixture().auditFile());
        assertThat(added.subList((int) before, added.size())).as(path).singleElement()
                .satisfies(line -> assertThat(line).contains("\"decision\":\"invalid\""));
    }

    @Test
    void shouldTreatEveryPathUnderV1SecretsAsASecretNameWhateverItsDepth() throws Exception {
        HttpResponse<String> oneSegment = get(BROKER.checkout(), "/v1/secrets/stripe");
        assertThat(oneSegment.statusCode()).isEqualTo(403);
        assertThat(oneSegment.body()).contains("is not granted stripe");
        assertThat(get(BROKER.checkout(), "/v1/secrets/.x").body()).contains("segment 1");
    }

    @Test
    void shouldAnswer400ForANameOf300Characters() throws Exception {
        HttpResponse<String> response = get(BROKER.checkout(), "/v1/secrets/" + "a".repeat(300));
        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(response.body()).contains("300 characters");
    }

    @Test
    void shouldAnswer429OverTheWorkloadsRateLimitWithRetryAfter() throws Exception {
        HttpClient reporting = BROKER.client(BrokerFixture.REPORTING);
        int limited = 0;
        HttpResponse<String> last = null;
        for (int i = 0; i < 5; i++) {
            last = get(reporting, "/v1/secrets/stripe/restricted/reporting");
            if (last.statusCode() == 429) {
                limited++;
            }
        }
        assertThat(limited).isEqualTo(2);
        assertThat(last.headers().firstValue("Retry-After")).isPresent();
    }

    @Test
    void shouldWriteOneAuditLineWithoutValuePerDecision() throws Exception {
        get(BROKER.checkout(), "/v1/secrets/stripe/secret-key", "X-Request-Id", "audit-allow-1");
        get(BROKER.checkout(), "/v1/secrets/stripe/other-key", "X-Request-Id", "audit-deny-1");
        List<String> lines = Files.readAllLines(BROKER.fixture().auditFile());
        String allow = lines.stream().filter(l -> l.contains("\"audit-allow-1\"")).findFirst().orElseThrow();
        assertThat(allow).contains("\"decision\":\"allow\"", "\"identity\":\"" + BrokerFixture.CHECKOUT + "\"",
                "\"secret\":\"stripe/secret-key\"", "\"stages\":[\"current\",\"previous\"]",
                "\"versions\":{\"current\":\"7\",\"previous\":\"6\"}", "\"latencyMs\"", "\"rule\":\"");
        assertThat(allow).containsPattern("\"source\":\"(cache|backend)\"");
        String deny = lines.stream().filter(l -> l.contains("\"audit-deny-1\"")).findFirst().orElseThrow();
        assertThat(deny).contains("\"decision\":\"deny\"", "\"rule\":\"default-deny\"");
        assertThat(lines.stream().filter(l -> l.contains("\"audit-allow-1\""))).hasSize(1);
    }

    @Test
    void shouldNeverLeakAValueIntoAuditMetricsErrorsOrLogs(CapturedOutput output) throws Exception {
        for (String path : List.of("/v1/secrets/stripe/secret-key", "/v1/secrets/stripe/webhook-secret",
                "/v1/secrets/stripe/other", "/v1/secrets/Bad", "/v1/secrets/stripe/missing")) {
            HttpResponse<String> response = get(BROKER.checkout(), path);
            if (response.statusCode() != 200) {
                assertThat(response.body()).doesNotContain(BrokerFixture.CURRENT_VALUE, BrokerFixture.PREVIOUS_VALUE,
                        BrokerFixture.WEBHOOK_VALUE);
            }
        }
        String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                BROKER.management("/actuator/prometheus")).build(), HttpResponse.BodyHandlers.ofString()).body();
        assertThat(metrics).contains("keybroker");
        for (String value : List.of(BrokerFixture.CURRENT_VALUE, BrokerFixture.PREVIOUS_VALUE,
                BrokerFixture.WEBHOOK_VALUE)) {
            assertThat(Files.readString(BROKER.fixture().auditFile())).doesNotContain(value);
            assertThat(metrics).doesNotContain(value);
            assertThat(output.getAll()).doesNotContain(value);
        }
    }

    @Test
    void shouldExposeNoSecretOnTheManagementPort() throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                BROKER.management("/v1/secrets/stripe/secret-key")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(404);
        for (String endpoint : List.of("/actuator/env", "/actuator/configprops", "/actuator/heapdump",
                "/actuator/beans")) {
            assertThat(HttpClient.newHttpClient().send(HttpRequest.newBuilder(BROKER.management(endpoint)).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).as(endpoint).isEqualTo(404);
        }
    }

    static Map<String, String> with(Map<String, String> base, String... pairs) {
        Map<String, String> copy = new java.util.LinkedHashMap<>(base);
        for (int i = 0; i < pairs.length; i += 2) {
            copy.put(pairs[i], pairs[i + 1]);
        }
        return copy;
    }
}
