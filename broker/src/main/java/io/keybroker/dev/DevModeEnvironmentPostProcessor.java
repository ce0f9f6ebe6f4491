package io.keybroker.dev;

import io.keybroker.config.ConfigurationProblemException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Development mode ({@code --keybroker.dev=true}, never implicit): before the broker's beans need them, creates
 * under {@code keybroker.dev-dir} a development CA, a server certificate for 127.0.0.1 and localhost, a client
 * certificate for the example workload, an example policy and example secrets (random {@code sk_test_} values),
 * and sets the broker's properties to them as defaults that explicit settings still override. Files that exist
 * and are still valid are reused, so a second run keeps the same CA and the same secrets.
 */
public class DevModeEnvironmentPostProcessor implements EnvironmentPostProcessor, Ordered {

    static final String WORKLOAD = "spiffe://keybroker.dev/ns/payments/sa/checkout";
    private static final SecureRandom RANDOM = new SecureRandom();

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        if (!Boolean.parseBoolean(environment.getProperty("keybroker.dev", "false"))) {
            return;
        }
        // The addresses the servers will really bind, whichever property set them: server.address and
        // management.server.address can be given directly and override the keybroker.* ones they default to.
        for (String property : List.of("keybroker.listen.address", "server.address", "keybroker.management.address",
                "management.server.address")) {
            String address = environment.getProperty(property, "127.0.0.1");
            if (!isLoopback(address)) {
                throw new ConfigurationProblemException("keybroker.dev=true refuses " + property + "=" + address
                        + ": development certificates and example secrets must stay on loopback; remove the "
                        + "address or turn development mode off");
            }
        }
        Path dir = Path.of(environment.getProperty("keybroker.dev-dir", "keybroker-dev")).toAbsolutePath().normalize();
        try {
            Map<String, Object> defaults = prepare(dir);
            environment.getPropertySources().addLast(new MapPropertySource("keybrokerDevelopmentMode", defaults));
        } catch (IOException ex) {
            throw new UncheckedIOException("development mode cannot write to " + dir + " (keybroker.dev-dir): "
                    + ex.getMessage(), ex);
        }
    }

    static Map<String, Object> prepare(Path dir) throws IOException {
        Files.createDirectories(dir.resolve("policy"));
        Path ca = dir.resolve("ca.pem");
        Path caKey = dir.resolve("ca-key.pem");
        Path server = dir.resolve("server.pem");
        Path serverKey = dir.resolve("server-key.pem");
        Path client = dir.resolve("client.pem");
        Path clientKey = dir.resolve("client-key.pem");
        try {
            if (!validFor(ca, Duration.ofDays(1)) || !validFor(server, Duration.ofDays(1))
                    || !validFor(client, Duration.ofDays(1)) || !Files.exists(serverKey) || !Files.exists(clientKey)) {
                DevPki.Issued authority = DevPki.ca("Keybroker development CA", Duration.ofDays(30));
                DevPki.Issued serverCert = DevPki.server(authority, Duration.ofDays(30));
                DevPki.Issued clientCert = DevPki.client(authority, WORKLOAD, Duration.ofDays(30));
                DevPki.writeCertificate(ca, authority.certificate());
                DevPki.writeKey(caKey, authority.key());
                DevPki.writeCertificate(server, serverCert.certificate());
                DevPki.writeKey(serverKey, serverCert.key());
                DevPki.writeCertificate(client, clientCert.certificate());
                DevPki.writeKey(clientKey, clientCert.key());
            }
        } catch (IOException ex) {
            throw ex;
        } catch (Exception ex) {
            throw new IOException("cannot create development certificates: " + ex.getMessage(), ex);
        }
        Path policy = dir.resolve("policy").resolve("payments.yaml");
        if (!Files.exists(policy)) {
            Files.writeString(policy, """
                    # Example policy of development mode: see docs/policy.md.
                    apiVersion: keybroker/v1
                    kind: Policy
                    metadata:
                      name: payments
                    spec:
                      workloads:
                        - identity: %s
                          application: checkout
                          rateLimit: 100/s
                          allow:
                            - secrets: [stripe/secret-key]
                              stages: [current, previous]
                            - secrets: [stripe/webhook-secret]
                              stages: [current]
                    """.formatted(WORKLOAD), StandardCharsets.UTF_8);
        }
        Path secrets = dir.resolve("secrets.yaml");
        if (!Files.exists(secrets)) {
            Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
            Files.writeString(secrets, """
                    # Example secrets of development mode (random test-mode values): see docs/file-backend.md.
                    # Append a version to a list to try a rotation; the last is current, the one before previous.
                    secrets:
                      dev/stripe/secret-key:
                        - version: "1"
                          value: %s
                          createdAt: %s
                        - version: "2"
                          value: %s
                          createdAt: %s
                      dev/stripe/webhook-secret:
                        - version: "1"
                          value: %s
                          createdAt: %s
                    """.formatted(random("sk_test_"), now.minus(Duration.ofDays(1)), random("sk_test_"), now,
                    random("whsec_"), now), StandardCharsets.UTF_8);
            try {
                Files.setPosixFilePermissions(secrets, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException ex) {
                // Not a POSIX file system.
            }
        }
        Map<String, Object> defaults = new LinkedHashMap<>();
        defaults.put("keybroker.environment", "dev");
        defaults.put("keybroker.backend", "file");
        defaults.put("keybroker.file.path", secrets.toString());
        defaults.put("keybroker.policy.dir", dir.resolve("policy").toString());
        defaults.put("keybroker.tls.certificate", server.toString());
        defaults.put("keybroker.tls.private-key", serverKey.toString());
        defaults.put("keybroker.tls.trust-bundle", ca.toString());
        defaults.put("keybroker.audit.file", dir.resolve("audit.log").toString());
        // A rotation tried locally by editing secrets.yaml shows within seconds, not the production 30 s.
        defaults.put("keybroker.rotation.poll-interval", "2s");
        return defaults;
    }

    private static boolean validFor(Path certificate, Duration margin) {
        if (!Files.exists(certificate)) {
            return false;
        }
        try (var in = Files.newInputStream(certificate)) {
            X509Certificate parsed = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
            parsed.checkValidity(Date.from(Instant.now().plus(margin)));
            return true;
        } catch (Exception ex) {
            return false;
        }
    }

    private static String random(String prefix) {
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder out = new StringBuilder(prefix);
        for (int i = 0; i < 32; i++) {
            out.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
        }
        return out.toString();
    }

    private static boolean isLoopback(String address) {
        try {
            return InetAddress.getByName(address).isLoopbackAddress();
        } catch (UnknownHostException ex) {
            return false;
        }
    }

    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
    }
}
