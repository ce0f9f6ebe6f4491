package io.keybroker.api;

import static io.keybroker.api.AccessEdgeIntegrationTests.EDGE;
import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.PolicyFixtures;
import io.keybroker.testsupport.RunningBroker;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The edge's route walk against a real backend failure of the file kind: a secrets file that became malformed
 * while the broker runs. Every reading route (read from the handler mapping) answers 503 with one
 * {@code unavailable} record, and neither the answer nor the record names the server's file path.
 */
class MalformedSecretsFileEdgeIntegrationTests {

    @Test
    void shouldAnswerAMalformedSecretsFileOnEveryReadingRouteWithItsMappedStatusAndOneRecord() throws Exception {
        BrokerFixture broken = BrokerFixture.create();
        Files.writeString(broken.dir().resolve("policy/edge.yaml"), PolicyFixtures.policy("edge", """
                    - identity: %sfile
                      application: file
                      allow:
                        - secrets: [edge/file]
                          stages: [current, previous]
                """.formatted(EDGE)), StandardCharsets.UTF_8);
        broken.writeSecrets("""
                secrets:
                  test/edge/file:
                    - version: "1"
                      value: sk_test_fileEdge
                      createdAt: %s
                """.formatted(Instant.now().truncatedTo(ChronoUnit.SECONDS)));
        Map<String, String> properties = broken.properties();
        // Nothing read before the file broke (the start-up warming included) stays usable: every request asks
        // the backend, and meets the malformed file.
        properties.put("keybroker.cache.ttl", "1ms");
        properties.put("keybroker.cache.max-stale", "0s");
        try (RunningBroker second = RunningBroker.start(properties)) {
            broken.writeSecrets("secrets:\n  test/edge/file: [unclosed\n");
            for (AccessEdgeIntegrationTests.Route route : AccessEdgeIntegrationTests.routes(second)) {
                if (!route.reads()) {
                    continue;
                }
                String requestId = "edge-" + UUID.randomUUID();
                HttpResponse<String> response = AccessEdgeIntegrationTests.send(broken, second, EDGE + "file", route,
                        route.path("edge/file", "file"), requestId);
                String what = route + " with a malformed secrets file";
                assertThat(response.statusCode()).as(what + ": " + response.body()).isEqualTo(503);
                assertThat(response.body()).as(what).doesNotContain(broken.dir().toString(), "test/edge", "sk_test");
                assertThat(AccessEdgeIntegrationTests.records(broken, requestId)).as(what).singleElement().satisfies(record -> {
                    assertThat(record.path("decision").asString()).isEqualTo("unavailable");
                    assertThat(record.path("secret").asString()).isEqualTo("edge/file");
                    assertThat(record.path("reason").asString()).doesNotContain(broken.dir().toString());
                });
            }
        }
    }

}
