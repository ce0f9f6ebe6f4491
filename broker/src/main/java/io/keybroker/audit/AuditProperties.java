package io.keybroker.audit;

import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The audit trail ({@code keybroker.audit.*}).
 *
 * @param file the audit file (JSON lines, hash-chained); when unset, audit lines go to standard output
 * @param fsync force each line to the storage device, not only to the operating system, before the request
 *     is answered
 */
@ConfigurationProperties("keybroker.audit")
public record AuditProperties(Path file, @DefaultValue("false") boolean fsync) {
}
