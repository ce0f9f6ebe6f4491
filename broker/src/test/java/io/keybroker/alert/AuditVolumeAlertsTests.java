package io.keybroker.alert;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.audit.AccessRecord;
import io.keybroker.audit.AuditLog;
import io.keybroker.audit.ChainedAuditLog;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditVolumeAlertsTests {

    @TempDir
    Path dir;

    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-22T10:00:00Z"));
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final List<Map<String, ?>> raised = new ArrayList<>();
    private final AlertService alerts = new AlertService(registry, new AuditLog() {
        @Override
        public void access(AccessRecord record) {
        }

        @Override
        public void event(String type, Map<String, ?> fields) {
            raised.add(fields);
        }
    }, null);

    @Test
    void shouldAlertBeforeTheAuditVolumeIsFull() {
        try (ChainedAuditLog audit = new ChainedAuditLog(dir.resolve("audit.jsonl"), false, 1 << 20, 1 << 22, clock)) {
            // Asks for more free space than any real disk has, so the real file system is "low".
            AuditVolumeAlerts volume = new AuditVolumeAlerts(audit, alerts, Long.MAX_VALUE, clock, registry);
            volume.check();
            assertThat(raised).singleElement().satisfies(alert -> {
                assertThat(alert.get("kind")).isEqualTo("audit-disk-low");
                assertThat((String) alert.get("detail")).contains("keybroker.audit.min-free-space", "503");
            });
            assertThat(registry.get("keybroker.alerts").tag("kind", "audit-disk-low").counter().count()).isEqualTo(1);
            assertThat(registry.get("keybroker.audit.volume.free.bytes").gauge().value()).isPositive();
            assertThat(registry.get("keybroker.audit.trail.bytes").gauge().value()).isPositive();

            volume.check();
            assertThat(raised).hasSize(1);
            clock.advance(Duration.ofHours(1));
            volume.check();
            assertThat(raised).hasSize(2);
        }
    }

    @Test
    void shouldStayQuietWithEnoughFreeSpace() {
        try (ChainedAuditLog audit = new ChainedAuditLog(dir.resolve("audit.jsonl"), false, 1 << 20, 1 << 22, clock)) {
            new AuditVolumeAlerts(audit, alerts, 1, clock, registry).check();
            assertThat(raised).isEmpty();
        }
    }
}
