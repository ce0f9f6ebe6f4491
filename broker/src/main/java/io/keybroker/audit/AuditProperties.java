package io.keybroker.audit;

import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * The audit trail ({@code keybroker.audit.*}).
 *
 * @param file the audit file (JSON lines, hash-chained); when unset, audit lines go to standard output, for a
 *     cluster log agent to collect
 * @param fsync force each line to the storage device, not only to the operating system, before the request is
 *     answered (slower; protects the trail against a machine crash, not only a process crash)
 * @param maxFileSize when the file grows past this size it is renamed with a timestamp suffix and a new file is
 *     started whose first (anchor) line carries the last hash of the old one, so the chain continues; at most a
 *     quarter of {@code maxTotalSize}
 * @param maxTotalSize all audit files together (the live file and the rotated ones) stay under this size: the
 *     oldest rotated files are deleted first, and each deletion is recorded in the trail; set it below the size
 *     of the volume the trail is on
 * @param minFreeSpace raise the {@code audit-disk-low} alert (log, metric, webhook) when the file system of the
 *     audit file has less free space than this, before a full disk makes every request fail with 503
 * @param checkInterval how often the free space of the audit file system is checked
 */
@ConfigurationProperties("keybroker.audit")
public record AuditProperties(Path file, @DefaultValue("false") boolean fsync,
        @DefaultValue("100MB") DataSize maxFileSize, @DefaultValue("1GB") DataSize maxTotalSize,
        @DefaultValue("128MB") DataSize minFreeSpace, @DefaultValue("30s") Duration checkInterval) {
}
