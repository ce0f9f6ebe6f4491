package io.keybroker.alert;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.audit.AccessRecord;
import io.keybroker.audit.AccessRecord.Decision;
import io.keybroker.audit.AuditFiles;
import io.keybroker.audit.AuditLog;
import io.keybroker.audit.ChainedAuditLog;
import io.keybroker.listener.TlsMaterialView;
import io.keybroker.testsupport.TestPki;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;
import org.springframework.scheduling.concurrent.ThreadPoolTaskScheduler;

/**
 * A healthy install as the chart makes it raises no alert: 24 h leaf certificates renewed by cert-manager with a
 * third of their life left, a one-year CA, and workloads reading their usual secrets as their pods start.
 */
class HealthyInstallAlertsTests {

    private static final String CHECKOUT = "spiffe://cluster.local/ns/payments/sa/checkout";

    @TempDir
    Path dir;

    private final Instant start = Instant.parse("2026-11-22T10:00:00Z");
    private final MutableClock clock = new MutableClock(start);
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final List<Map<String, ?>> raised = new ArrayList<>();
    private final AlertService service = new AlertService(registry, new AuditLog() {
        @Override
        public void access(AccessRecord record) {
        }

        @Override
        public void event(String type, Map<String, ?> fields) {
            raised.add(fields);
        }
    }, null);

    /** The broker's defaults: nothing set. */
    private static AlertProperties defaults() {
        return new Binder(new MapConfigurationPropertySource(Map.of()))
                .bindOrCreate("keybroker.alerts", AlertProperties.class);
    }

    private AlertConfiguration.BackgroundAlerts certificates(X509Certificate server, X509Certificate ca) {
        TlsMaterialView tls = new TlsMaterialView() {
            @Override
            public X509Certificate[] serverChain() {
                return new X509Certificate[] {server};
            }

            @Override
            public X509Certificate[] trustAnchors() {
                return new X509Certificate[] {ca};
            }
        };
        // Never started: these tests call the checks themselves, so no scheduler runs them.
        return new AlertConfiguration.BackgroundAlerts(service, defaults(), clock, tls, null, null, null,
                Duration.ofSeconds(30), new ThreadPoolTaskScheduler());
    }

    /** A leaf of the chart's 24 h lifetime, issued {@code age} before now. */
    private X509Certificate leaf(TestPki.Cert ca, Duration age) {
        Instant notBefore = clock.instant().minus(age);
        return TestPki.issue(ca, TestPki.leaf().commonName("localhost")
                .validity(notBefore, notBefore.plus(Duration.ofHours(24)))).certificate();
    }

    private X509Certificate yearLongCa() {
        TestPki.Cert root = TestPki.ca("Keybroker CA");
        return TestPki.issue(root, TestPki.leaf().ca().validity(clock.instant().minus(Duration.ofDays(30)),
                clock.instant().plus(Duration.ofDays(335)))).certificate();
    }

    private AccessRecord read(String identity, String secret) {
        return new AccessRecord(clock.instant(), "r", "v1", identity, secret, List.of("current"), Decision.ALLOW,
                "payments.yaml#payments/workloads[0]/allow[0]", "granted", Map.of("current", "7"), "backend", 100);
    }

    @Test
    void shouldRaiseNothingForCertificatesRenewedOnCertManagersSchedule() {
        TestPki.Cert ca = TestPki.ca("Keybroker CA");
        // Fresh after a renewal, and the worst healthy moment: just before cert-manager renews with 8 h left.
        certificates(leaf(ca, Duration.ZERO), yearLongCa()).checkCertificates();
        certificates(leaf(ca, Duration.ofHours(16).minusMinutes(1)), yearLongCa()).checkCertificates();
        assertThat(raised).isEmpty();
    }

    @Test
    void shouldAlertWhenARenewalIsOverdueRelativeToTheLifetime() {
        TestPki.Cert ca = TestPki.ca("Keybroker CA");
        certificates(leaf(ca, Duration.ofHours(19)), yearLongCa()).checkCertificates();
        assertThat(raised).singleElement().satisfies(alert -> {
            assertThat(alert.get("kind")).isEqualTo("certificate-expiry");
            assertThat((String) alert.get("detail")).contains("renewal is overdue", "PT6H");
        });
        // A long-lived certificate still alerts a week before it expires, not at a quarter of a year.
        raised.clear();
        TestPki.Cert root = TestPki.ca("root");
        X509Certificate expiringCa = TestPki.issue(root, TestPki.leaf().ca().validity(
                clock.instant().minus(Duration.ofDays(360)), clock.instant().plus(Duration.ofDays(6)))).certificate();
        certificates(leaf(ca, Duration.ZERO), expiringCa).checkCertificates();
        assertThat(raised).singleElement().satisfies(alert -> assertThat((String) alert.get("detail")).contains("PT168H"));
    }

    @Test
    void shouldRaiseNoFirstReadWhenANewPodsWorkloadReadsItsUsualSecrets() {
        AccessAlerts alerts = new AccessAlerts(service, defaults(), clock);
        alerts.onAccess(read(CHECKOUT, "stripe/secret-key"));
        clock.advance(Duration.ofMinutes(2));
        alerts.onAccess(read(CHECKOUT, "stripe/webhook-secret"));
        assertThat(raised).isEmpty();
        // Past the warm-up, a secret this workload never read before is news.
        clock.advance(Duration.ofMinutes(10));
        alerts.onAccess(read(CHECKOUT, "stripe/secret-key"));
        assertThat(raised).isEmpty();
        alerts.onAccess(read(CHECKOUT, "stripe/restricted/reporting"));
        assertThat(raised).singleElement().satisfies(alert -> {
            assertThat(alert.get("kind")).isEqualTo("first-read");
            assertThat(alert.get("secret")).isEqualTo("stripe/restricted/reporting");
        });
    }

    @Test
    void shouldRaiseNoFirstReadAfterARestartForPairsInTheRetainedAuditTrail() {
        Path file = dir.resolve("audit.jsonl");
        try (ChainedAuditLog trail = new ChainedAuditLog(file, false, 1 << 20, clock)) {
            trail.access(read(CHECKOUT, "stripe/secret-key"));
        }
        AlertProperties noWarmup = new Binder(new MapConfigurationPropertySource(Map.of(
                "keybroker.alerts.first-read-warmup", "0s"))).bindOrCreate("keybroker.alerts", AlertProperties.class);
        AccessAlerts alerts = new AccessAlerts(service, noWarmup, clock);
        alerts.learnFrom(AuditFiles.trail(file));
        alerts.onAccess(read(CHECKOUT, "stripe/secret-key"));
        assertThat(raised).isEmpty();
        alerts.onAccess(read(CHECKOUT, "stripe/webhook-secret"));
        assertThat(raised).singleElement().satisfies(alert -> assertThat(alert.get("kind")).isEqualTo("first-read"));
    }
}
