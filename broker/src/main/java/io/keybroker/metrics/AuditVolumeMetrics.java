package io.keybroker.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code keybroker_audit_bytes}: bytes of audit files (the current one and those set aside at rotation) in the
 * audit file's directory, read at scrape time. Rotated files are never deleted by the broker, so on a
 * size-limited volume (the chart's emptyDir, {@code sidecar.auditSizeLimit}) this grows until the kubelet evicts
 * the pod; the chart's {@code KeybrokerAuditVolumeNearlyFull} alert compares it with that limit. The file system's
 * own free space would not do: an emptyDir reports the node's disk, not its size limit.
 */
public final class AuditVolumeMetrics {

    private final Path file;

    public AuditVolumeMetrics(MeterRegistry registry, Path auditFile) {
        this.file = auditFile.toAbsolutePath();
        Gauge.builder("keybroker.audit.bytes", this::bytes)
                .description("Bytes of audit files (current and rotated) in the audit directory")
                .register(registry);
    }

    double bytes() {
        String name = file.getFileName().toString();
        long total = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(file.getParent(), name + "*")) {
            for (Path path : files) {
                if (Files.isRegularFile(path)) {
                    total += Files.size(path);
                }
            }
        } catch (IOException ex) {
            // A directory that cannot be read has no measurable size: report NaN, which Prometheus drops from
            // comparisons, rather than a 0 that would read as "empty".
            return Double.NaN;
        }
        return total;
    }
}
