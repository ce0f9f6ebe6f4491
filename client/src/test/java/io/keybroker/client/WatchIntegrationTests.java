package io.keybroker.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The watch stream announces a rotation and drops the client's cached copy before its TTL; what goes wrong on
 * the way (the application's listener throwing, the broker refusing the stream) is reported, not swallowed.
 */
class WatchIntegrationTests {

    @TempDir
    Path dir;

    @Test
    void shouldInvalidateTheCachedSecretWhenTheBrokerAnnouncesARotation() throws Exception {
        Peers.pki(dir);
        String secrets = Peers.secrets("sk_test_watchCurrent00000000000002", "sk_test_watchPrevious0000000000001");
        try (Peers.Broker broker = new Peers.Broker(dir, Peers.POLICY, secrets,
                "--keybroker.rotation.poll-interval=300ms", "--keybroker.file.reload-interval=200ms");
                KeybrokerClient client = KeybrokerClient.builder().baseUri(broker.uri())
                        .tls(dir.resolve("client.pem"), dir.resolve("client-key.pem"), dir.resolve("ca.pem"))
                        .cacheTtl(Duration.ofMinutes(10)).build()) {
            assertThat(client.get("stripe/secret-key").current().orElseThrow().version()).isEqualTo("2");
            List<RotationEvent> events = new CopyOnWriteArrayList<>();
            try (AutoCloseable watch = client.watch(List.of("stripe/secret-key"), events::add)) {
                // The stream is open once the broker has audited the watch.
                await().atMost(Duration.ofSeconds(10)).until(() -> broker.audit().contains("\"endpoint\":\"watch\""));
                Files.writeString(dir.resolve("secrets.yaml"), secrets + """
                            - version: "3"
                              value: sk_test_watchRotated00000000000003
                              createdAt: %s
                        """.formatted(java.time.Instant.now()));
                await().atMost(Duration.ofSeconds(15)).until(() -> !events.isEmpty());
                assertThat(events.get(0).name()).isEqualTo("stripe/secret-key");
                assertThat(events.get(0).currentVersion()).isEqualTo("3");
                assertThat(events.get(0).previousVersion()).isEqualTo("2");
                // The ten-minute cache no longer holds version 2.
                Secret after = client.get("stripe/secret-key");
                assertThat(after.current().orElseThrow().version()).isEqualTo("3");
                assertThat(after.previous().orElseThrow().version()).isEqualTo("2");
            }
        }
    }

    @Test
    void shouldReportAListenerFailureAndGoOnWithTheNextEvent() throws Exception {
        Peers.pki(dir);
        String secrets = Peers.secrets("sk_test_watchCurrent00000000000002", "sk_test_watchPrevious0000000000001");
        try (Peers.Broker broker = new Peers.Broker(dir, Peers.POLICY, secrets,
                "--keybroker.rotation.poll-interval=300ms", "--keybroker.file.reload-interval=200ms");
                KeybrokerClient client = KeybrokerClient.builder().baseUri(broker.uri())
                        .tls(dir.resolve("client.pem"), dir.resolve("client-key.pem"), dir.resolve("ca.pem"))
                        .build()) {
            // Read once, so the broker caches the secret and polls it for rotations.
            assertThat(client.get("stripe/secret-key").current().orElseThrow().version()).isEqualTo("2");
            List<RotationEvent> heard = new CopyOnWriteArrayList<>();
            List<String> failures = new CopyOnWriteArrayList<>();
            try (AutoCloseable watch = client.watch(List.of("stripe/secret-key"), event -> {
                heard.add(event);
                if (heard.size() == 1) {
                    throw new IllegalStateException("the application's own bug");
                }
            }, (event, ex) -> failures.add(event.currentVersion() + ": " + ex.getMessage()))) {
                await().atMost(Duration.ofSeconds(10)).until(() -> broker.audit().contains("\"endpoint\":\"watch\""));
                String rotated = secrets + """
                            - version: "3"
                              value: sk_test_watchRotated00000000000003
                              createdAt: %s
                        """.formatted(java.time.Instant.now());
                Files.writeString(dir.resolve("secrets.yaml"), rotated);
                await().atMost(Duration.ofSeconds(15)).until(() -> !failures.isEmpty());
                assertThat(failures).containsExactly("3: the application's own bug");
                // The same stream, not a reconnect, brings the next rotation to the listener.
                Files.writeString(dir.resolve("secrets.yaml"), rotated + """
                            - version: "4"
                              value: sk_test_watchRotated00000000000004
                              createdAt: %s
                        """.formatted(java.time.Instant.now()));
                await().atMost(Duration.ofSeconds(15)).until(() -> heard.size() == 2);
                assertThat(heard.get(1).currentVersion()).isEqualTo("4");
                assertThat(failures).hasSize(1);
            }
        }
    }

    @Test
    void shouldLogAStreamTheBrokerRefuses() throws Exception {
        Peers.pki(dir);
        String secrets = Peers.secrets("sk_test_watchCurrent00000000000002", "sk_test_watchPrevious0000000000001");
        List<String> warnings = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                if (record.getLevel().intValue() >= Level.WARNING.intValue()
                        && record.getMessage().contains("stripe%2Fwebhook-secret")) {
                    warnings.add(record.getMessage());
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger logger = Logger.getLogger("io.keybroker.client");
        logger.addHandler(capture);
        try (Peers.Broker broker = new Peers.Broker(dir, Peers.POLICY, secrets);
                KeybrokerClient client = KeybrokerClient.builder().baseUri(broker.uri())
                        .tls(dir.resolve("client.pem"), dir.resolve("client-key.pem"), dir.resolve("ca.pem"))
                        .build();
                // The policy grants stripe/secret-key only: the broker refuses this stream every time.
                AutoCloseable watch = client.watch(List.of("stripe/webhook-secret"), event -> { })) {
            await().atMost(Duration.ofSeconds(15)).until(() -> !warnings.isEmpty());
            assertThat(warnings.get(0)).contains("the watch stream", "failed (", "403", "reconnecting in 500 ms");
        } finally {
            logger.removeHandler(capture);
        }
    }
}
