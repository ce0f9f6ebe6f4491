package io.keybroker.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.BrokerProcess;
import io.keybroker.testsupport.HeapDump;
import io.keybroker.testsupport.SecretsYaml;
import io.keybroker.testsupport.TestPki;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The claim of docs/cache.md, checked on the broker as it ships: once requests are answered, no served value is
 * left in any live object of the broker's heap, even after many responses, a refresh and a rotation.
 *
 * <p>The broker is a separate process started from the jar: a dump of this JVM would also hold the test's own
 * copies of every value. The dump is of live objects only ({@code GC.heap_dump} without {@code -all}): garbage
 * that the JVM has not reused yet cannot be wiped from Java and is not what the claim is about.
 *
 * <p>What is fair to ask of the file backend: it reads the secrets file by design, so plaintext exists while a
 * read is under way (the file's bytes, the YAML parser's strings; see SecretsFileParser). The periodic check for
 * changes is therefore set to an hour here, so that no read can be in progress when the dump is taken; the
 * rotation is picked up by {@code POST .../refresh}, which re-reads the backend at once. The values in the file on
 * disk are the development backend's contract, not the broker's heap.
 *
 * <p>The search can fail: a non-secret marker that the policy store keeps (a workload's application name) must
 * be found in the same dump.
 */
@Tag("jar")
class HeapDumpLeakIntegrationTests {

    private static final String ROTATED_VALUE = "sk_test_fixtureRotated3Gp6Hw2Zc9Lk4Ud";
    /** A non-secret marker the broker keeps live for as long as the policy is in force. */
    private static final String MARKER = "heapdump-marker-5wq8zr2kfm";
    private static final int ROUNDS = 40;

    @TempDir
    Path dumps;

    @Test
    void shouldKeepNoServedValueInTheLiveHeapOfTheBrokerProcess() throws Exception {
        BrokerFixture fixture = BrokerFixture.create();
        Files.writeString(fixture.dir().resolve("policy/payments.yaml"), BrokerFixture.POLICY + """
                    - identity: spiffe://cluster.local/ns/heap/sa/%s
                      application: %s
                      allow:
                        - secrets: [stripe/secret-key]
                          stages: [current]
                """.formatted(MARKER, MARKER), StandardCharsets.UTF_8);
        HttpClient checkout = TestPki.httpClient(fixture.ca(), fixture.checkout());
        int served = 0;
        try (BrokerProcess broker = BrokerProcess.start(fixture, Map.of("keybroker.file.reload-interval", "1h",
                "keybroker.rotation.refresh-min-interval", "0s"))) {
            for (int i = 0; i < ROUNDS; i++) {
                served += serveAll(broker, checkout, BrokerFixture.CURRENT_VALUE, BrokerFixture.PREVIOUS_VALUE);
            }
            assertThat(refresh(broker, checkout)).contains("\"currentVersion\":\"7\"");

            fixture.writeSecrets(rotatedSecrets());
            assertThat(refresh(broker, checkout)).contains("\"currentVersion\":\"8\"");
            await("the rotated version served").atMost(Duration.ofSeconds(20)).until(() ->
                    get(broker, checkout, "/v1/secrets/stripe/secret-key").contains(ROTATED_VALUE));
            for (int i = 0; i < ROUNDS; i++) {
                served += serveAll(broker, checkout, ROTATED_VALUE, BrokerFixture.CURRENT_VALUE);
            }

            Path file = dumps.resolve("broker.hprof");
            long started = System.nanoTime();
            Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                    Long.toString(broker.pid()), "GC.heap_dump", file.toString()).redirectErrorStream(true).start();
            assertThat(jcmd.waitFor(120, TimeUnit.SECONDS)).as("jcmd finished").isTrue();
            String jcmdOutput = new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(jcmd.exitValue()).as(jcmdOutput).isZero();
            long dumpMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            try {
                started = System.nanoTime();
                HeapDump dump = HeapDump.read(file);
                List<HeapDump.Hit> marker = dump.find(MARKER);
                Map<String, String> values = Map.of("stripe/secret-key v6", BrokerFixture.PREVIOUS_VALUE,
                        "stripe/secret-key v7", BrokerFixture.CURRENT_VALUE, "stripe/secret-key v8", ROTATED_VALUE,
                        "stripe/webhook-secret v1", BrokerFixture.WEBHOOK_VALUE);
                Map<String, List<HeapDump.Hit>> leaks = new TreeMap<>();
                values.forEach((label, value) -> leaks.put(label, dump.find(value)));
                long searchMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
                System.out.printf("Live heap dump of the broker (Java %s, pid %d) after %d responses with values, a "
                        + "refresh and a rotation: %.1f MB, dumped in %d ms, searched for %d values in 4 encodings "
                        + "in %d ms; marker found %d times, e.g. %s%n", System.getProperty("java.version"),
                        broker.pid(), served, dump.size() / 1e6, dumpMillis, values.size(), searchMillis,
                        marker.size(), marker.isEmpty() ? "-" : marker.get(0));

                assertThat(marker).as("the positive control: the policy's marker is live in the broker, so a "
                        + "search that finds nothing is not blind").isNotEmpty();
                assertThat(leaks).allSatisfy((label, hits) -> assertThat(hits).as(hits.size() + " copies of the "
                        + "value of " + label + " in the live heap").isEmpty());
            } finally {
                Files.deleteIfExists(file);
            }
        }
    }

    /** Each value served by each protocol the broker speaks; returns how many responses carried a value. */
    private static int serveAll(BrokerProcess broker, HttpClient client, String current, String previous)
            throws Exception {
        assertThat(get(broker, client, "/v1/secrets/stripe/secret-key")).contains(current, previous);
        assertThat(get(broker, client, "/v1/secrets/stripe/webhook-secret")).contains(BrokerFixture.WEBHOOK_VALUE);
        assertThat(get(broker, client, "/secretsmanager/get?secretId=stripe/secret-key")).contains(current);
        assertThat(get(broker, client, "/secretsmanager/get?secretId=stripe/secret-key&versionStage=AWSPREVIOUS"))
                .contains(previous);
        assertThat(get(broker, client, "/checkout/default")).contains(current, previous,
                BrokerFixture.WEBHOOK_VALUE);
        return 5;
    }

    private static String get(BrokerProcess broker, HttpClient client, String path) throws Exception {
        HttpResponse<String> response = client.send(request(broker.uri(path)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as("GET " + path).isEqualTo(200);
        return response.body();
    }

    private static String refresh(BrokerProcess broker, HttpClient client) throws Exception {
        HttpResponse<String> response = client.send(request(broker.uri("/v1/secrets/stripe/secret-key/refresh"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as("refresh: " + response.body()).isEqualTo(200);
        return response.body();
    }

    private static HttpRequest.Builder request(URI uri) {
        return HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10));
    }

    /** The fixture's secrets with version 8 appended to stripe/secret-key. */
    private static SecretsYaml rotatedSecrets() {
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        return SecretsYaml.fixtureDefaults(now).version("test/stripe/secret-key", "8", ROTATED_VALUE, now);
    }
}
