package io.keybroker.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;

/**
 * Real peers for the client's tests: the broker jar the broker module has just built, run as its own process
 * with certificates made by openssl, and Stripe's own stripe-mock.
 */
final class Peers {

    static final String CHECKOUT = "spiffe://cluster.local/ns/payments/sa/checkout";

    private Peers() {
    }

    static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    static Path tool(String name) {
        String configured = System.getProperty("keybroker.tools.bin", System.getenv("KEYBROKER_TOOLS_BIN"));
        List<Path> candidates = new ArrayList<>();
        if (configured != null) {
            candidates.add(Path.of(configured, name));
        }
        candidates.add(Path.of("..", ".tools", "bin", name).toAbsolutePath().normalize());
        for (Path candidate : candidates) {
            if (Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException("'" + name + "' is not installed: run scripts/install-tools.sh, or point "
                + "KEYBROKER_TOOLS_BIN at a directory that holds it");
    }

    static void run(Path dir, String... command) {
        try {
            Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("openssl.log").toFile()).start();
            assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(process.exitValue()).as(String.join(" ", command)).isZero();
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }

    /** A CA, a server certificate for 127.0.0.1, and a workload certificate for {@link #CHECKOUT}. */
    static void pki(Path dir) throws IOException {
        run(dir, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", "/CN=client-test-ca");
        leaf(dir, "server", "subjectAltName=IP:127.0.0.1,DNS:localhost");
        leaf(dir, "client", "subjectAltName=URI:" + CHECKOUT + "\nkeyUsage=digitalSignature");
        run(dir, "openssl", "pkcs12", "-export", "-in", "client.pem", "-inkey", "client-key.pem", "-out",
                "client.p12", "-passout", "pass:changeit", "-name", "client");
        run(dir, Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-importcert", "-noprompt",
                "-alias", "ca", "-file", "ca.pem", "-keystore", "ca.p12", "-storetype", "PKCS12", "-storepass",
                "changeit");
    }

    /**
     * A workload certificate for {@link #CHECKOUT} on an existing key file, signed by the CA {@code ca} (files
     * {@code <ca>.pem} and {@code <ca>-key.pem} in {@code dir}).
     */
    static void clientCertificate(Path dir, String ca, String keyFile, String certificateFile) {
        try {
            Files.writeString(dir.resolve("client.ext"), "subjectAltName=URI:" + CHECKOUT
                    + "\nkeyUsage=digitalSignature\nbasicConstraints=CA:FALSE\n");
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        run(dir, "openssl", "req", "-new", "-key", keyFile, "-out", certificateFile + ".csr", "-subj", "/CN=client");
        run(dir, "openssl", "x509", "-req", "-in", certificateFile + ".csr", "-CA", ca + ".pem", "-CAkey",
                ca + "-key.pem", "-CAcreateserial", "-out", certificateFile, "-days", "1", "-extfile", "client.ext");
    }

    private static void leaf(Path dir, String name, String extensions) throws IOException {
        Files.writeString(dir.resolve(name + ".ext"), extensions + "\nbasicConstraints=CA:FALSE\n");
        run(dir, "openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                name + "-key.pem", "-out", name + ".csr", "-subj", "/CN=" + name);
        run(dir, "openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                "-CAcreateserial", "-out", name + ".pem", "-days", "1", "-extfile", name + ".ext");
    }

    /** A broker process on the file backend with the given secrets and policy. */
    static final class Broker implements AutoCloseable {
        final int port;
        final int managementPort;
        final Path dir;
        private final Process process;

        Broker(Path dir, String policy, String secrets, String... extraArgs) throws IOException {
            this(dir, policy, secrets, freePort(), freePort(), dir.resolve("ca.pem"), extraArgs);
        }

        /** A broker on given ports (to start a second one where the first was) trusting the given CA bundle. */
        Broker(Path dir, String policy, String secrets, int port, int managementPort, Path trustBundle,
                String... extraArgs) throws IOException {
            this.dir = dir;
            this.port = port;
            this.managementPort = managementPort;
            Files.createDirectories(dir.resolve("policy"));
            Files.writeString(dir.resolve("policy/policy.yaml"), policy);
            Files.writeString(dir.resolve("secrets.yaml"), secrets);
            String jar = System.getProperty("keybroker.jar", "../broker/target/keybroker.jar");
            assertThat(Path.of(jar)).as("the broker jar (built by the broker module first)").exists();
            List<String> command = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                    jar, "--keybroker.environment=test", "--keybroker.backend=file",
                    "--keybroker.file.path=" + dir.resolve("secrets.yaml"),
                    "--keybroker.policy.dir=" + dir.resolve("policy"),
                    "--keybroker.tls.certificate=" + dir.resolve("server.pem"),
                    "--keybroker.tls.private-key=" + dir.resolve("server-key.pem"),
                    "--keybroker.tls.trust-bundle=" + trustBundle,
                    "--keybroker.audit.file=" + dir.resolve("audit.log"),
                    "--keybroker.listen.port=" + port, "--keybroker.management.port=" + managementPort));
            command.addAll(List.of(extraArgs));
            process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve("broker.log").toFile()).start();
            HttpClient http = HttpClient.newHttpClient();
            Awaitility.await().atMost(Duration.ofSeconds(150)).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                    .until(() -> {
                        assertThat(process.isAlive()).as("broker exited; see " + dir.resolve("broker.log")).isTrue();
                        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort
                                + "/actuator/health/readiness")).build(), HttpResponse.BodyHandlers.discarding())
                                .statusCode() == 200;
                    });
        }

        URI uri() {
            return URI.create("https://127.0.0.1:" + port);
        }

        String audit() throws IOException {
            return Files.readString(dir.resolve("audit.log"), StandardCharsets.UTF_8);
        }

        @Override
        public void close() throws Exception {
            process.destroy();
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }

    /** Stripe's own mock server. */
    static final class StripeMock implements AutoCloseable {
        final int port = freePort();
        private final Process process;

        StripeMock(Path dir) throws IOException {
            process = new ProcessBuilder(tool("stripe-mock").toString(), "-http-port", Integer.toString(port))
                    .redirectErrorStream(true).redirectOutput(dir.resolve("stripe-mock.log").toFile()).start();
            HttpClient http = HttpClient.newHttpClient();
            Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                    .until(() -> http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                            + "/v1/balance")).header("Authorization", "Bearer sk_test_ping").build(),
                            HttpResponse.BodyHandlers.discarding()).statusCode() == 200);
        }

        URI balance() {
            return URI.create("http://127.0.0.1:" + port + "/v1/balance");
        }

        @Override
        public void close() throws Exception {
            process.destroy();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    static String secrets(String current, String previous) {
        Instant now = Instant.now();
        return """
                secrets:
                  test/stripe/secret-key:
                    - version: "1"
                      value: %s
                      createdAt: %s
                    - version: "2"
                      value: %s
                      createdAt: %s
                """.formatted(previous, now.minus(Duration.ofDays(2)), current, now.minus(Duration.ofHours(1)));
    }

    static final String POLICY = """
            apiVersion: keybroker/v1
            kind: Policy
            metadata:
              name: payments
            spec:
              workloads:
                - identity: %s
                  application: checkout
                  allow:
                    - secrets: [stripe/secret-key]
                      stages: [current, previous]
            """.formatted(CHECKOUT);
}
