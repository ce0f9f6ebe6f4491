package io.keybroker.alert;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.audit.AccessRecord;
import io.keybroker.audit.AccessRecord.Decision;
import io.keybroker.audit.AuditLog;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

class AccessAlertsTests {

    private static final String CHECKOUT = "spiffe://cluster.local/ns/payments/sa/checkout";

    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-22T10:00:00Z"));
    private final List<Map<String, ?>> audited = new ArrayList<>();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final AlertService service = new AlertService(registry, new AuditLog() {
        @Override
        public void access(AccessRecord record) {
        }

        @Override
        public void event(String type, Map<String, ?> fields) {
            audited.add(fields);
        }
    }, null);
    private final AccessAlerts alerts = new AccessAlerts(service, defaults(), clock);

    /** The defaults, without the first-read warm-up, so a first read alerts at once. */
    static AlertProperties defaults() {
        return new Binder(new MapConfigurationPropertySource(Map.of("keybroker.alerts.first-read", "true",
                "keybroker.alerts.first-read-warmup", "0s"))).bindOrCreate("keybroker.alerts", AlertProperties.class);
    }

    private AccessRecord record(String identity, String secret, Decision decision, String source) {
        return new AccessRecord(clock.instant(), "r", "v1", identity, secret, List.of("current"), decision, "rule",
                "reason", decision == Decision.ALLOW ? Map.of("current", "7") : Map.of(), source, 100);
    }

    private double count(String kind) {
        var counter = registry.find("keybroker.alerts").tag("kind", kind).counter();
        return counter == null ? 0 : counter.count();
    }

    @Test
    void shouldRaiseADenialBurstAtTheThresholdWithinTheWindowOnly() {
        for (int i = 0; i < 19; i++) {
            alerts.onAccess(record(CHECKOUT, "stripe/x" + i, Decision.DENY, null));
            clock.advance(Duration.ofSeconds(3));
        }
        assertThat(count("denial-burst")).isZero();
        clock.advance(Duration.ofSeconds(5));
        alerts.onAccess(record(CHECKOUT, "stripe/x", Decision.DENY, null));
        // The first denials fell out of the 60 s window: still below 20 within it.
        assertThat(count("denial-burst")).isZero();
        for (int i = 0; i < 20; i++) {
            alerts.onAccess(record(CHECKOUT, "stripe/y", Decision.DENY, null));
        }
        assertThat(count("denial-burst")).isEqualTo(1);
        assertThat(audited).anySatisfy(fields -> assertThat(fields.get("kind")).isEqualTo("denial-burst"));
    }

    @Test
    void shouldRaiseOneDenialBurstPerWindowForAWorkloadThatKeepsBeingDenied() {
        for (int i = 0; i < 200; i++) {
            alerts.onAccess(record(CHECKOUT, "stripe/x", Decision.DENY, null));
        }
        assertThat(count("denial-burst")).isEqualTo(1);
        clock.advance(Duration.ofSeconds(61));
        for (int i = 0; i < 20; i++) {
            alerts.onAccess(record(CHECKOUT, "stripe/x", Decision.DENY, null));
        }
        assertThat(count("denial-burst")).isEqualTo(2);
        assertThat(audited).anySatisfy(fields -> assertThat(String.valueOf(fields.get("detail")))
                .contains("180 more since the previous alert"));
    }

    @Test
    void shouldRaiseFirstReadOncePerIdentityAndSecret() {
        alerts.onAccess(record(CHECKOUT, "stripe/secret-key", Decision.ALLOW, "cache"));
        alerts.onAccess(record(CHECKOUT, "stripe/secret-key", Decision.ALLOW, "cache"));
        alerts.onAccess(record(CHECKOUT, "stripe/webhook-secret", Decision.ALLOW, "cache"));
        assertThat(count("first-read")).isEqualTo(2);
    }

    @Test
    void shouldRaiseStaleServedAtMostOncePerRepeatInterval() {
        alerts.onAccess(record(CHECKOUT, "stripe/secret-key", Decision.ALLOW, "stale"));
        clock.advance(Duration.ofMinutes(5));
        alerts.onAccess(record(CHECKOUT, "stripe/secret-key", Decision.ALLOW, "stale"));
        assertThat(count("stale-served")).isEqualTo(1);
        clock.advance(Duration.ofMinutes(6));
        alerts.onAccess(record(CHECKOUT, "stripe/secret-key", Decision.ALLOW, "stale"));
        assertThat(count("stale-served")).isEqualTo(2);
    }

    @Test
    void shouldRaiseUnusualRateOnlyFarAboveTheIdentitysOwnBaseline() {
        // Fifteen minutes of steady traffic: 100 reads a minute.
        for (int minute = 0; minute < 15; minute++) {
            for (int i = 0; i < 100; i++) {
                alerts.onAccess(record(CHECKOUT, "stripe/secret-key", Decision.ALLOW, "cache"));
            }
            clock.advance(Duration.ofMinutes(1));
        }
        assertThat(count("unusual-rate")).isZero();
        // Twice the usual: still normal.
        for (int i = 0; i < 200; i++) {
            alerts.onAccess(record(CHECKOUT, "stripe/secret-key", Decision.ALLOW, "cache"));
        }
        assertThat(count("unusual-rate")).isZero();
        clock.advance(Duration.ofMinutes(1));
        // Ten times the usual within a minute: alert, once.
        for (int i = 0; i < 1000; i++) {
            alerts.onAccess(record(CHECKOUT, "stripe/secret-key", Decision.ALLOW, "cache"));
        }
        assertThat(count("unusual-rate")).isEqualTo(1);
    }

    @Test
    void shouldStaySilentForNormalTraffic() {
        for (int minute = 0; minute < 30; minute++) {
            for (int i = 0; i < 50; i++) {
                alerts.onAccess(record(CHECKOUT, "stripe/secret-key", Decision.ALLOW, "cache"));
            }
            alerts.onAccess(record(CHECKOUT, "stripe/other", Decision.DENY, null));
            clock.advance(Duration.ofMinutes(1));
        }
        assertThat(registry.find("keybroker.alerts").counters()).allSatisfy(counter ->
                assertThat(counter.getId().getTag("kind")).isEqualTo("first-read"));
        assertThat(count("first-read")).isEqualTo(1);
    }

    @Test
    void shouldKeepRaisingFirstReadAfterMoreThanTheTrackedPairsWereSeen() {
        for (int i = 0; i < AccessAlerts.MAX_TRACKED + 10; i++) {
            alerts.onAccess(record(CHECKOUT, "stripe/flood-" + i, Decision.ALLOW, "cache"));
        }
        double before = count("first-read");
        alerts.onAccess(record(CHECKOUT, "stripe/secret-key", Decision.ALLOW, "cache"));
        assertThat(count("first-read")).isEqualTo(before + 1);
    }

    @Test
    void shouldNotCountAWatchThatServesNoValueAsAFirstRead() {
        alerts.onAccess(new AccessRecord(clock.instant(), "r", "watch", CHECKOUT, "stripe/watched", List.of(),
                Decision.ALLOW, "rule", "granted", Map.of(), null, 100));
        assertThat(count("first-read")).isZero();
        alerts.onAccess(record(CHECKOUT, "stripe/watched", Decision.ALLOW, "cache"));
        assertThat(count("first-read")).isEqualTo(1);
    }
}
