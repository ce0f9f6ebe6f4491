package io.keybroker.audit;

import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * The audit trail ({@code keybroker.audit.*}).
 *
 * @param file the audit file (JSON lines, hash-chained); when unset, audit lines go to standard output
 * @param fsync force each line to the storage device, not only to the operating system, before the request is
 *     answered (slower; protects the trail against a machine crash, not only a process crash)
 * @param maxFileSize when the file grows past this size it is renamed with a timestamp suffix and a new file is
 *     started whose first (anchor) line carries the last hash of the old one, so the chain continues
 */
@ConfigurationProperties("keybroker.audit")
public record AuditProperties(Path file, @DefaultValue("false") boolean fsync,
        @DefaultValue("100MB") DataSize maxFileSize) {
}
