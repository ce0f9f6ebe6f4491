package io.keybroker.alert;

import io.keybroker.audit.ChainedAuditLog;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the file system of the audit file, so a filling disk raises an alert before writes fail and every
 * request is refused with 503 (the broker never serves unaudited). Publishes
 * {@code keybroker_audit_volume_free_bytes}, {@code keybroker_audit_trail_bytes},
 * {@code keybroker_audit_pruned_files_total} and {@code keybroker_audit_write_failures_total}, and raises
 * {@code audit-disk-low} when free space falls under {@code keybroker.audit.min-free-space}: once when it
 * crosses, again every hour while it stays low.
 *
 * <p>An emptyDir's {@code sizeLimit} is not visible as free space (the kubelet measures the directory); the
 * trail's own bound there is {@code keybroker.audit.max-total-size}, which the chart sets below the limit.
 */
public final class AuditVolumeAlerts {

    private static final Logger log = LoggerFactory.getLogger(AuditVolumeAlerts.class);
    private static final Duration REPEAT = Duration.ofHours(1);

    private final ChainedAuditLog audit;
    private final AlertService alerts;
    private final long minFreeSpace;
    private final Clock clock;
    private volatile long freeBytes = -1;
    private Instant lastAlert;

    public AuditVolumeAlerts(ChainedAuditLog audit, AlertService alerts, long minFreeSpace, Clock clock,
            MeterRegistry registry) {
        this.audit = audit;
        this.alerts = alerts;
        this.minFreeSpace = minFreeSpace;
        this.clock = clock;
        Gauge.builder("keybroker.audit.volume.free.bytes", this, a -> a.freeBytes)
                .description("Free bytes on the file system of the audit file, as of the last check (-1: unknown "
                        + "or standard output)")
                .register(registry);
        Gauge.builder("keybroker.audit.trail.bytes", audit, ChainedAuditLog::trailBytes)
                .description("Bytes of all audit files (live and rotated); kept under keybroker.audit.max-total-size")
                .register(registry);
        FunctionCounter.builder("keybroker.audit.pruned.files", audit, ChainedAuditLog::prunedFiles)
                .description("Rotated audit files deleted to respect keybroker.audit.max-total-size")
                .register(registry);
        FunctionCounter.builder("keybroker.audit.write.failures", audit, ChainedAuditLog::writeFailures)
                .description("Audit lines that could not be written (each refused its request with 503)")
                .register(registry);
    }

    /** Reads the free space and alerts when it is under the threshold. */
    public synchronized void check() {
        Path file = audit.file();
        if (file == null) {
            return;
        }
        Path dir = file.toAbsolutePath().getParent();
        long free;
        try {
            free = Files.getFileStore(dir).getUsableSpace();
        } catch (IOException ex) {
            log.warn("cannot read the free space of the audit directory {}: {}", dir, ex.getMessage());
            return;
        }
        freeBytes = free;
        Instant now = clock.instant();
        if (free >= minFreeSpace) {
            lastAlert = null;
            return;
        }
        if (lastAlert != null && now.isBefore(lastAlert.plus(REPEAT))) {
            return;
        }
        lastAlert = now;
        alerts.raise(Alert.of("audit-disk-low", now, null, null, "the file system of the audit trail has " + free
                + " bytes free, under keybroker.audit.min-free-space (" + minFreeSpace + "); when it is full every "
                + "request is refused with 503. Free space, lower keybroker.audit.max-total-size, or send the "
                + "audit to standard output"));
    }
}
