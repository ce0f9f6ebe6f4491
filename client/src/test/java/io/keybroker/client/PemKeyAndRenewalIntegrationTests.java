package io.keybroker.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client reads the PEM key forms cert-manager and openssl write, refuses encrypted keys with a message that
 * says what to do, and picks up a renewed certificate from disk for its next connection. Real handshakes against
 * the broker jar, keys and certificates made by openssl.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PemKeyAndRenewalIntegrationTests {

    /** Rotations of the file backend seen within a second, for the watch test. */
    private static final String[] FAST = {"--keybroker.rotation.poll-interval=300ms",
        "--keybroker.file.reload-interval=200ms"};

    @TempDir
    static Path dir;

    private Peers.Broker broker;

    @BeforeAll
    void startBroker() throws IOException {
        Peers.pki(dir);
        broker = new Peers.Broker(dir, Peers.POLICY, Peers.secrets("sk_test_pemCurrent000000000000002",
                "sk_test_pemPrevious00000000000001"), FAST);
    }

    @AfterAll
    void stopBroker() throws Exception {
        if (broker != null) {
            broker.close();
        }
    }

    private KeybrokerClient client(String certificate, String key) {
        return KeybrokerClient.builder().baseUri(broker.uri())
                .tls(dir.resolve(certificate), dir.resolve(key), dir.resolve("ca.pem")).cacheTtl(Duration.ZERO).build();
    }

    @Test
    void shouldConnectWithEveryUnencryptedPemKeyForm() throws IOException {
        // SEC1 EC after an EC PARAMETERS block, as 'openssl ecparam -genkey' writes it.
        Peers.run(dir, "openssl", "ecparam", "-name", "prime256v1", "-genkey", "-out", "ec-sec1-params.pem");
        // SEC1 EC alone (cert-manager's ECDSA default without privateKey.encoding: PKCS8).
        Peers.run(dir, "openssl", "ec", "-in", "ec-sec1-params.pem", "-out", "ec-sec1.pem");
        Peers.run(dir, "openssl", "pkcs8", "-topk8", "-nocrypt", "-in", "ec-sec1.pem", "-out", "ec-pkcs8.pem");
        // PKCS#1 RSA (cert-manager's RSA default) and the same key as PKCS#8.
        Peers.run(dir, "openssl", "genrsa", "-traditional", "-out", "rsa-pkcs1.pem", "2048");
        Peers.run(dir, "openssl", "pkcs8", "-topk8", "-nocrypt", "-in", "rsa-pkcs1.pem", "-out", "rsa-pkcs8.pem");
        Map<String, String> headers = Map.of("ec-sec1-params.pem", "BEGIN EC PARAMETERS", "ec-sec1.pem",
                "BEGIN EC PRIVATE KEY", "ec-pkcs8.pem", "BEGIN PRIVATE KEY", "rsa-pkcs1.pem", "BEGIN RSA PRIVATE KEY",
                "rsa-pkcs8.pem", "BEGIN PRIVATE KEY");
        for (Map.Entry<String, String> form : headers.entrySet()) {
            assertThat(Files.readString(dir.resolve(form.getKey()))).contains(form.getValue());
            String certificate = form.getKey().replace(".pem", "-cert.pem");
            Peers.clientCertificate(dir, "ca", form.getKey(), certificate);
            try (KeybrokerClient client = client(certificate, form.getKey())) {
                // A real handshake with that key, then an allowed read (the version depends on the watch test).
                assertThat(client.get("stripe/secret-key").current()).as(form.getKey()).isPresent();
            }
        }
    }

    @Test
    void shouldRefuseAnEncryptedKeyWithAMessageThatSaysWhatToDo() {
        Peers.run(dir, "openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-passout", "pass:secret", "-in",
                "client-key.pem", "-out", "client-key-encrypted.pem");
        Peers.run(dir, "openssl", "ec", "-aes256", "-passout", "pass:secret", "-in", "client-key.pem", "-out",
                "client-key-encrypted-sec1.pem");
        for (String key : List.of("client-key-encrypted.pem", "client-key-encrypted-sec1.pem")) {
            assertThatThrownBy(() -> client("client.pem", key)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(key).hasMessageContaining("encrypted private key")
                    .hasMessageContaining("openssl pkey");
        }
        assertThatThrownBy(() -> client("client.pem", "client.pem")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("holds no private key").hasMessageContaining("BEGIN EC PRIVATE KEY");
    }

    /**
     * A cert-manager renewal under a new CA, written as the kubelet writes a mounted Secret (a new timestamped
     * directory, then the {@code ..data} link swapped in one rename); the broker is restarted trusting only the
     * new CA, so a client still presenting the old certificate fails its handshake.
     */
    @Test
    @Order(Integer.MAX_VALUE) // last: it replaces the broker with one that trusts only the renewed CA
    void shouldUseARenewedCertificateForTheNextConnection() throws Exception {
        Path mount = dir.resolve("mount");
        Files.createDirectories(mount);
        mountSecret(mount, "..2026_12_07_10_00_00.000000001", "client.pem", "client-key.pem");
        for (String file : List.of("tls.crt", "tls.key", "ca.crt")) {
            Files.createSymbolicLink(mount.resolve(file), Path.of("..data", file));
        }
        Peers.Broker second = null;
        try (KeybrokerClient client = KeybrokerClient.builder().baseUri(broker.uri())
                .tls(mount.resolve("tls.crt"), mount.resolve("tls.key"), mount.resolve("ca.crt"))
                .cacheTtl(Duration.ZERO).build()) {
            assertThat(client.get("stripe/secret-key").current()).isPresent();

            // The renewal: a new CA, a new SEC1 key and certificate, swapped in atomically.
            Peers.run(dir, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", "ca2-key.pem", "-out", "ca2.pem", "-days", "2", "-subj", "/CN=renewed-ca");
            Peers.run(dir, "openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "renewed-key.pem");
            Peers.clientCertificate(dir, "ca2", "renewed-key.pem", "renewed.pem");
            mountSecret(mount, "..2026_12_07_16_00_00.000000002", "renewed.pem", "renewed-key.pem");

            // The old CA leaves the broker's trust bundle: only the renewed certificate can connect.
            int port = broker.port;
            int managementPort = broker.managementPort;
            broker.close();
            broker = null;
            second = new Peers.Broker(dir, Peers.POLICY, Peers.secrets("sk_test_pemCurrent000000000000002",
                    "sk_test_pemPrevious00000000000001"), port, managementPort, dir.resolve("ca2.pem"), FAST);
            assertThat(client.get("stripe/secret-key").current()).isPresent();
        } finally {
            broker = second;
        }
    }

    /** Writes a Secret's files into a new directory and points {@code ..data} at it with one rename. */
    private void mountSecret(Path mount, String version, String certificate, String key) throws IOException {
        Path target = mount.resolve(version);
        Files.createDirectories(target);
        Files.copy(dir.resolve(certificate), target.resolve("tls.crt"));
        Files.copy(dir.resolve(key), target.resolve("tls.key"));
        Files.copy(dir.resolve("ca.pem"), target.resolve("ca.crt"));
        Path link = mount.resolve("..data_tmp");
        Files.createSymbolicLink(link, Path.of(version));
        Files.move(link, mount.resolve("..data"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    @Test
    void shouldReportAnExceptionThrownByTheWatchListenerAndKeepWatching() throws Exception {
        String secrets = Peers.secrets("sk_test_pemCurrent000000000000002", "sk_test_pemPrevious00000000000001");
        Path secretsFile = dir.resolve("secrets.yaml");
        List<RotationEvent> seen = new CopyOnWriteArrayList<>();
        List<RuntimeException> failures = new CopyOnWriteArrayList<>();
        try (KeybrokerClient reader = client("client.pem", "client-key.pem")) {
            // The broker polls for rotations of the names it has cached: read it once, as a workload would.
            assertThat(reader.get("stripe/secret-key").current()).isPresent();
        }
        try (KeybrokerClient client = client("client.pem", "client-key.pem");
                AutoCloseable watch = client.watch(List.of("stripe/secret-key"), event -> {
                    seen.add(event);
                    if (seen.size() == 1) {
                        throw new IllegalStateException("the application's own bug");
                    }
                }, (event, ex) -> failures.add(ex))) {
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> broker.audit().contains("\"endpoint\":\"watch\""));
            String rotated = secrets + """
                        - version: "3"
                          value: sk_test_pemRotated000000000000003
                          createdAt: %s
                    """.formatted(java.time.Instant.now());
            Files.writeString(secretsFile, rotated);
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> seen.size() == 1);
            assertThat(failures).singleElement().extracting(Throwable::getMessage)
                    .isEqualTo("the application's own bug");
            Files.writeString(secretsFile, rotated + """
                        - version: "4"
                          value: sk_test_pemRotated000000000000004
                          createdAt: %s
                    """.formatted(java.time.Instant.now()));
            // The same stream delivers the next event: the listener's failure did not end it.
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> seen.size() == 2);
            assertThat(seen.get(1).currentVersion()).isEqualTo("4");
            assertThat(failures).hasSize(1);
        }
    }
}
