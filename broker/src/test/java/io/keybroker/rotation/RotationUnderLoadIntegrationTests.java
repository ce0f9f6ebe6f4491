package io.keybroker.rotation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keybroker.testsupport.BrokerFixture;
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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
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
                Map<String, AtomicLong> seen = new ConcurrentHashMap<>();
                List<String> failures = new CopyOnWriteArrayList<>();
                AtomicBoolean running = new AtomicBoolean(true);
                AtomicLong firstSeenV2 = new AtomicLong();
                AtomicLong firstSeenV3 = new AtomicLong();

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

                List<Thread> clients = new ArrayList<>();
                for (int c = 0; c < 4; c++) {
                    HttpClient client = TestPki.httpClient(fixture.ca(), fixture.checkout());
                    Thread thread = new Thread(() -> {
                        while (running.get()) {
                            try {
                                HttpResponse<String> response = client.send(read, HttpResponse.BodyHandlers.ofString());
                                if (response.statusCode() != 200) {
                                    failures.add("status " + response.statusCode());
                                    continue;
                                }
                                JsonNode body = JSON.readTree(response.body());
                                String current = body.path("current").path("version").asString();
                                String previous = body.path("previous").path("version").asString("-");
                                String pair = current + "/" + (previous.isEmpty() ? "-" : previous);
                                seen.computeIfAbsent(pair, k -> new AtomicLong()).incrementAndGet();
                                if (!valid.contains(pair)
                                        || !body.path("current").path("value").asString().equals(value(Integer.parseInt(current)))) {
                                    failures.add("torn or wrong pair " + pair);
                                }
                                long now = System.nanoTime();
                                if ("2".equals(current)) {
                                    firstSeenV2.compareAndSet(0, now);
                                } else if ("3".equals(current)) {
                                    firstSeenV3.compareAndSet(0, now);
                                }
                            } catch (Exception ex) {
                                failures.add(ex.getClass().getSimpleName());
                            }
                        }
                    });
                    thread.start();
                    clients.add(thread);
                }
                await().atMost(Duration.ofSeconds(60)).until(() -> seen.containsKey("1/-")
                        && seen.get("1/-").get() > 300);
                await().atMost(Duration.ofSeconds(10)).until(() -> broker.context().isActive()
                        && java.nio.file.Files.readString(fixture.auditFile()).contains("\"endpoint\":\"watch\""));

                long written2 = System.nanoTime();
                bao.admin().kvPut(PATH, Map.of("value", value(2)));
                await().atMost(Duration.ofSeconds(60)).until(() -> seen.containsKey("2/1")
                        && seen.get("2/1").get() > 300);
                long written3 = System.nanoTime();
                bao.admin().kvPut(PATH, Map.of("value", value(3)));
                await().atMost(Duration.ofSeconds(60)).until(() -> seen.containsKey("3/2")
                        && seen.get("3/2").get() > 300);
                running.set(false);
                for (Thread thread : clients) {
                    thread.join();
                }
                await().atMost(Duration.ofSeconds(10)).until(() -> announced.containsAll(List.of("2", "3")));

                long total = seen.values().stream().mapToLong(AtomicLong::get).sum();
                LoggerFactory.getLogger(RotationUnderLoadIntegrationTests.class).info(
                        "{} requests by 4 keep-alive clients over two rotations, {} failed; pairs seen {}; "
                                + "propagation to the first client {} ms and {} ms (poll interval 200 ms)",
                        total, failures.size(), seen, (firstSeenV2.get() - written2) / 1_000_000,
                        (firstSeenV3.get() - written3) / 1_000_000);
                assertThat(failures).isEmpty();
                assertThat(seen.keySet()).containsExactlyInAnyOrder("1/-", "2/1", "3/2");
                assertThat(announced).containsSubsequence("2", "3");
            }
        }
    }
}
