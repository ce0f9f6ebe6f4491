package io.keybroker.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The watch stream announces a rotation and drops the client's cached copy before its TTL. */
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
}
