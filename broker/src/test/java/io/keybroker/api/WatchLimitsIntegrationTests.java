package io.keybroker.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.RunningBroker;
import io.keybroker.testsupport.TestPki;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * One workload cannot make the broker hold or read without end through watch streams, over real mTLS against a
 * whole broker with the file backend: streams per identity, names per stream, the rate limit per name and the
 * cache's share for watches are each bounded, and each refusal is one audit record matching its status.
 */
class WatchLimitsIntegrationTests {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private BrokerFixture fixture;
    private RunningBroker broker;
    private final List<HttpResponse<Stream<String>>> open = new ArrayList<>();

    @BeforeEach
    void start() {
        fixture = BrokerFixture.create();
        Map<String, String> properties = fixture.properties();
        properties.put("keybroker.watch.max-streams-per-identity", "2");
        properties.put("keybroker.watch.max-names", "3");
        properties.put("keybroker.cache.max-size", "6"); // watches may pin 3
        broker = RunningBroker.start(properties);
    }

    @AfterEach
    void stop() {
        open.forEach(response -> response.body().close());
        if (broker != null) {
            broker.close();
        }
    }

    private HttpResponse<Stream<String>> watch(TestPki.Cert client, String requestId, String... names)
            throws Exception {
        String query = Stream.of(names).map(n -> "name=" + n).collect(Collectors.joining("&"));
        HttpClient http = TestPki.httpClient(fixture.ca(), client);
        HttpResponse<Stream<String>> response = http.send(HttpRequest.newBuilder(broker.uri("/v1/watch?" + query))
                .header("X-Request-Id", requestId).build(), HttpResponse.BodyHandlers.ofLines());
        open.add(response);
        return response;
    }

    private static String body(HttpResponse<Stream<String>> response) {
        return response.body().collect(Collectors.joining("\n"));
    }

    private List<JsonNode> records(String requestId) throws Exception {
        List<JsonNode> found = new ArrayList<>();
        for (String line : Files.readAllLines(fixture.auditFile())) {
            JsonNode node = JSON.readTree(line);
            if ("access".equals(node.path("type").asString()) && requestId.equals(node.path("requestId").asString())) {
                found.add(node);
            }
        }
        return found;
    }

    private static String id() {
        return "watch-" + UUID.randomUUID();
    }

    private void assertOneRecord(String requestId, String decision, String rule, String identity) throws Exception {
        assertThat(records(requestId)).singleElement().satisfies(record -> {
            assertThat(record.path("decision").asString()).isEqualTo(decision);
            assertThat(record.path("rule").asString()).isEqualTo(rule);
            assertThat(record.path("identity").asString()).isEqualTo(identity);
        });
    }

    @Test
    void shouldRefuseAStreamBeyondTheIdentitysBoundUntilOneCloses() throws Exception {
        HttpResponse<Stream<String>> first = watch(fixture.checkout(), id(), "stripe/secret-key");
        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(watch(fixture.checkout(), id(), "stripe/secret-key").statusCode()).isEqualTo(200);

        String refused = id();
        HttpResponse<Stream<String>> third = watch(fixture.checkout(), refused, "stripe/secret-key");
        assertThat(third.statusCode()).isEqualTo(429);
        assertThat(third.headers().firstValue("Retry-After")).isPresent();
        assertThat(body(third)).contains("max-streams-per-identity").doesNotContain("test/stripe");
        assertOneRecord(refused, "rate-limited", "watch-streams", BrokerFixture.CHECKOUT);

        first.body().close(); // the broker sees the stream end and gives its place back
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                .until(() -> watch(fixture.checkout(), id(), "stripe/secret-key").statusCode() == 200);
    }

    @Test
    void shouldRefuseMoreNamesThanAStreamMayHold() throws Exception {
        String refused = id();
        HttpResponse<Stream<String>> response = watch(fixture.checkout(), refused, "stripe/secret-key",
                "stripe/webhook-secret", "stripe/missing", "stripe/restricted/a");
        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(body(response)).contains("give 1 to 3 names").contains("keybroker.watch.max-names");
        assertOneRecord(refused, "invalid", "watch-names", BrokerFixture.CHECKOUT);
    }

    @Test
    void shouldChargeTheRateLimitOncePerNameWatched() throws Exception {
        TestPki.Cert reporting = TestPki.workload(fixture.ca(), BrokerFixture.REPORTING); // 3 requests a minute
        assertThat(watch(reporting, id(), "stripe/restricted/a", "stripe/restricted/b", "stripe/restricted/c")
                .statusCode()).isEqualTo(200);

        String refused = id();
        HttpResponse<Stream<String>> response = watch(reporting, refused, "stripe/restricted/a");
        assertThat(response.statusCode()).isEqualTo(429);
        assertOneRecord(refused, "rate-limited", "rate-limit", BrokerFixture.REPORTING);
    }

    @Test
    void shouldRefuseAWatchThatWouldPinMoreThanTheCachesShareWithOneRecord() throws Exception {
        // Names that do not exist pin the cache as much as names that do.
        assertThat(watch(fixture.checkout(), id(), "stripe/missing", "stripe/restricted/nothing-here",
                "stripe/restricted/nor-here").statusCode()).isEqualTo(200);

        String refused = id();
        HttpResponse<Stream<String>> response = watch(fixture.checkout(), refused, "stripe/secret-key");
        assertThat(response.statusCode()).isEqualTo(503);
        assertThat(body(response)).contains("keybroker.cache.max-size").doesNotContain("test/stripe");
        assertOneRecord(refused, "unavailable", "watch-capacity", BrokerFixture.CHECKOUT);
    }
}
