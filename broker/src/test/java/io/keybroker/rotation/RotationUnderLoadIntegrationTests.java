package io.keybroker.rotation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.LoadGenerator;
import io.keybroker.testsupport.OpenBaoServer;
import io.keybroker.testsupport.RunningBroker;
import io.keybroker.testsupport.TestPki;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Two rotations in a real OpenBao while several keep-alive clients read without pause: no request fails, every
 * (current, previous) pair served is one that existed, and the watch stream announces both rotations.
 */
class RotationUnderLoadIntegrationTests {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String PATH = "prod/stripe/secret-key";

    private static String value(int version) {
        return "sk_test_underLoad" + version + "y".repeat(16);
    }

    @Test
    void shouldFailNoRequestAndNeverMixVersionsWhileRotatingTwice() throws Exception {
        try (OpenBaoServer bao = OpenBaoServer.start("load")) {
            bao.admin().kvPut(PATH, Map.of("value", value(1)));
            BrokerFixture fixture = BrokerFixture.create();
            Map<String, String> properties = new LinkedHashMap<>(fixture.properties());
            properties.put("keybroker.environment", "prod");
            properties.put("keybroker.backend", "vault");
            properties.put("keybroker.rotation.poll-interval", "200ms");
            properties.put("spring.cloud.vault.uri", bao.address());
            properties.put("spring.cloud.vault.token", OpenBaoServer.ROOT_TOKEN);
            try (RunningBroker broker = RunningBroker.start(properties)) {
                HttpRequest read = HttpRequest.newBuilder(broker.uri("/v1/secrets/stripe/secret-key")).build();
                // The pairs that really exist, in order: (1), (2,1), (3,2).
                Set<String> valid = Set.of("1/-", "2/1", "3/2");

                List<String> announced = new CopyOnWriteArrayList<>();
                HttpClient watcher = TestPki.httpClient(fixture.ca(), fixture.checkout());
                Thread watch = new Thread(() -> {
                    try {
                        HttpResponse<InputStream> stream = watcher.send(HttpRequest.newBuilder(
                                broker.uri("/v1/watch?name=stripe/secret-key")).build(),
                                HttpResponse.BodyHandlers.ofInputStream());
                        try (BufferedReader lines = new BufferedReader(new InputStreamReader(stream.body(),
                                StandardCharsets.UTF_8))) {
                            String line;
                            while ((line = lines.readLine()) != null) {
                                if (line.startsWith("data:")) {
                                    announced.add(JSON.readTree(line.substring(5)).path("currentVersion").asString());
                                }
                            }
                        }
                    } catch (Exception ex) {
                        // The stream ends when the broker stops.
                    }
                });
                watch.setDaemon(true);
                watch.start();

                LoadGenerator load = new LoadGenerator().stream("reads", 4, () -> {
                    HttpClient client = TestPki.httpClient(fixture.ca(), fixture.checkout());
                    return () -> {
                        HttpResponse<String> response = client.send(read, HttpResponse.BodyHandlers.ofString());
                        if (response.statusCode() != 200) {
                            return "status " + response.statusCode();
                        }
                        JsonNode body = JSON.readTree(response.body());
                        String current = body.path("current").path("version").asString();
                        String previous = body.path("previous").path("version").asString("-");
                        String pair = current + "/" + (previous.isEmpty() ? "-" : previous);
                        boolean right = valid.contains(pair) && body.path("current").path("value").asString()
                                .equals(value(Integer.parseInt(current)));
                        return right ? pair : "torn or wrong pair " + pair;
                    };
                });
                long written2;
                long written3;
                try {
                    load.start();
                    await().atMost(Duration.ofSeconds(60)).until(() -> load.count("reads", "1/-") > 300);
                    await().atMost(Duration.ofSeconds(10)).until(() -> broker.context().isActive()
                            && java.nio.file.Files.readString(fixture.auditFile()).contains("\"endpoint\":\"watch\""));

                    written2 = System.nanoTime();
                    bao.admin().kvPut(PATH, Map.of("value", value(2)));
                    await().atMost(Duration.ofSeconds(60)).until(() -> load.count("reads", "2/1") > 300);
                    written3 = System.nanoTime();
                    bao.admin().kvPut(PATH, Map.of("value", value(3)));
                    await().atMost(Duration.ofSeconds(60)).until(() -> load.count("reads", "3/2") > 300);
                } finally {
                    load.stop();
                }
                await().atMost(Duration.ofSeconds(10)).until(() -> announced.containsAll(List.of("2", "3")));

                Map<String, Long> seen = new TreeMap<>();
                load.outcomes("reads").forEach((outcome, tallies) -> seen.put(outcome,
                        tallies.stream().mapToLong(LoadGenerator.Tally::count).sum()));
                long total = seen.values().stream().mapToLong(Long::longValue).sum();
                long failed = seen.entrySet().stream().filter(e -> !valid.contains(e.getKey()))
                        .mapToLong(Map.Entry::getValue).sum();
                LoggerFactory.getLogger(RotationUnderLoadIntegrationTests.class).info(
                        "{} requests by 4 keep-alive clients over two rotations, {} failed; pairs seen {}; "
                                + "propagation to the first client {} ms and {} ms (poll interval 200 ms)",
                        total, failed, seen, (load.firstAnswered("reads", "2/1") - written2) / 1_000_000,
                        (load.firstAnswered("reads", "3/2") - written3) / 1_000_000);
                // Any failure (a status, an exception, a torn pair) would show as an outcome of its own.
                assertThat(seen.keySet()).containsExactlyInAnyOrder("1/-", "2/1", "3/2");
                assertThat(announced).containsSubsequence("2", "3");
            }
        }
    }
}
