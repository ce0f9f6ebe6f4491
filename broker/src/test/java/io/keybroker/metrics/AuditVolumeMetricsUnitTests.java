package io.keybroker.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditVolumeMetricsUnitTests {

    @TempDir
    Path dir;

    @Test
    void shouldCountTheCurrentAndRotatedAuditFilesButNothingElse() throws Exception {
        Files.write(dir.resolve("audit.jsonl"), new byte[1000]);
        Files.write(dir.resolve("audit.jsonl.20261207T101500Z"), new byte[4000]);
        Files.write(dir.resolve("other.log"), new byte[50_000]);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();

        new AuditVolumeMetrics(registry, dir.resolve("audit.jsonl"));

        assertThat(registry.get("keybroker.audit.bytes").gauge().value()).isEqualTo(5000.0);
        Files.write(dir.resolve("audit.jsonl.20261207T111500Z-1"), new byte[500]);
        assertThat(registry.get("keybroker.audit.bytes").gauge().value()).isEqualTo(5500.0);
    }

    @Test
    void shouldReportNotANumberWhenTheDirectoryIsGone() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();

        new AuditVolumeMetrics(registry, dir.resolve("missing/audit.jsonl"));

        assertThat(registry.get("keybroker.audit.bytes").gauge().value()).isNaN();
    }
}
