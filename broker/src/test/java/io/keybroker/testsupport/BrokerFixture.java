package io.keybroker.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The files a whole broker needs in a test, in one temporary directory: a CA, a server certificate, a workload
 * certificate for {@link #CHECKOUT}, a policy directory, a secrets file for the file backend, and the audit
 * file. {@link #properties()} gives the {@code keybroker.*} settings pointing at them.
 */
public final class BrokerFixture {

    public static final String CHECKOUT = "spiffe://cluster.local/ns/payments/sa/checkout";
    public static final String REPORTING = "spiffe://cluster.local/ns/payments/sa/reporting";

    /** Test-mode-looking values that leak tests search for; never real keys. */
    public static final String CURRENT_VALUE = "sk_test_fixtureCurrent7Qh2LmZ9xW3vB8nR";
    public static final String PREVIOUS_VALUE = "sk_test_fixturePrevious4Kd8PsX1yT6mE2aJ";
    public static final String WEBHOOK_VALUE = "whsec_fixtureWebhook9Xc3Vb7Nm1Qw5Er8Ty";

    public static final String POLICY = PolicyFixtures.policy("payments", """
                - identity: %s
                  application: checkout
                  # Far above what the load tests send: they measure rotation and faults, not the limit.
                  rateLimit: 100000/s
                  allow:
                    - secrets: [stripe/secret-key]
                      stages: [current, previous]
                    - secrets: [stripe/webhook-secret, stripe/missing]
                      stages: [current]
                    - secrets: [stripe/restricted/**]
                      stages: [current]
                - identity: %s
                  application: reporting
                  rateLimit: 3/m
                  allow:
                    - secrets: [stripe/restricted/*]
                      stages: [previous]
            """.formatted(CHECKOUT, REPORTING));

    /**
     * The stripe section {@link #withStripe()} adds to checkout's entry: the calls the Stripe proxy tests make,
     * and the webhook secrets the verification tests use. Reporting gets none.
     */
    public static final String STRIPE_SECTION = """
                  stripe:
                    key: stripe/secret-key
                    calls:
                      - POST /v1/payment_intents
                      - GET /v1/payment_intents
                      - GET /v1/payment_intents/*
                      - GET /v1/balance
                      - POST /v1/customers
                      - DELETE /v1/customers/*
                    webhookSecrets: [stripe/webhook-secret, stripe/webhook-rolled]
            """;

    private final Path dir;
    private final TestPki.Cert ca;
    private final TestPki.Cert server;
    private final TestPki.Cert checkout;

    private BrokerFixture(Path dir) {
        this.dir = dir;
        this.ca = TestPki.ca("Test CA");
        this.server = TestPki.server(ca);
        this.checkout = TestPki.workload(ca, CHECKOUT);
    }

    public static BrokerFixture create() {
        try {
            BrokerFixture fixture = new BrokerFixture(Files.createTempDirectory("keybroker-test"));
            fixture.write();
            return fixture;
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private void write() throws IOException {
        ca.writeCertificate(dir.resolve("ca.pem"));
        server.writeCertificate(dir.resolve("server.pem"));
        server.writeKey(dir.resolve("server-key.pem"));
        Files.createDirectories(dir.resolve("policy"));
        Files.writeString(dir.resolve("policy/payments.yaml"), POLICY, StandardCharsets.UTF_8);
        writeSecrets(SecretsYaml.fixtureDefaults(Instant.now().truncatedTo(ChronoUnit.SECONDS)));
    }

    /** Gives checkout the {@link #STRIPE_SECTION}; returns this fixture. */
    public BrokerFixture withStripe() {
        try {
            Files.writeString(dir.resolve("policy/payments.yaml"), POLICY.replace("      rateLimit: 100000/s\n",
                    "      rateLimit: 100000/s\n" + STRIPE_SECTION), StandardCharsets.UTF_8);
            return this;
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    /** Replaces the secrets file atomically. */
    public void writeSecrets(SecretsYaml secrets) {
        writeSecrets(secrets.yaml());
    }

    /** Replaces the secrets file atomically with {@code yaml} as written (malformed files included). */
    public void writeSecrets(String yaml) {
        try {
            Path tmp = dir.resolve("secrets.yaml.tmp");
            Files.writeString(tmp, yaml, StandardCharsets.UTF_8);
            Files.move(tmp, dir.resolve("secrets.yaml"), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    public Map<String, String> properties() {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("keybroker.environment", "test");
        p.put("keybroker.backend", "file");
        p.put("keybroker.file.path", dir.resolve("secrets.yaml").toString());
        p.put("keybroker.file.reload-interval", "200ms");
        p.put("keybroker.policy.dir", dir.resolve("policy").toString());
        p.put("keybroker.policy.reload-interval", "200ms");
        p.put("keybroker.tls.certificate", dir.resolve("server.pem").toString());
        p.put("keybroker.tls.private-key", dir.resolve("server-key.pem").toString());
        p.put("keybroker.tls.trust-bundle", dir.resolve("ca.pem").toString());
        p.put("keybroker.tls.reload-interval", "200ms");
        p.put("keybroker.audit.file", dir.resolve("audit.log").toString());
        p.put("keybroker.listen.port", "0");
        p.put("keybroker.management.port", "0");
        return p;
    }

    public Path dir() {
        return dir;
    }

    public Path auditFile() {
        return dir.resolve("audit.log");
    }

    public TestPki.Cert ca() {
        return ca;
    }

    public TestPki.Cert server() {
        return server;
    }

    public TestPki.Cert checkout() {
        return checkout;
    }
}
