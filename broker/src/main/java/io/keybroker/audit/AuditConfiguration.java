package io.keybroker.audit;

import io.keybroker.config.ConfigurationProblemException;
import java.time.Clock;
import java.util.Map;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.context.event.EventListener;

/** Wires the audit trail and records the broker's start and stop in it. */
@Configuration(proxyBeanMethods = false)
public class AuditConfiguration {

    /** The smallest total the writer accepts: room for a few rotated files of a useful size. */
    private static final long MIN_TOTAL = 1024 * 1024;

    @Bean(destroyMethod = "close")
    ChainedAuditLog auditLog(AuditProperties properties, Clock clock) {
        long total = properties.maxTotalSize().toBytes();
        if (total < MIN_TOTAL) {
            throw new ConfigurationProblemException("keybroker.audit.max-total-size is " + properties.maxTotalSize()
                    + ": set it to at least 1MB, and below the size of the volume that holds keybroker.audit.file");
        }
        if (properties.checkInterval().isNegative() || properties.checkInterval().isZero()) {
            throw new ConfigurationProblemException("keybroker.audit.check-interval must be a positive duration, "
                    + "e.g. 30s");
        }
        return new ChainedAuditLog(properties.file(), properties.fsync(), properties.maxFileSize().toBytes(), total,
                clock);
    }

    @Bean
    AuditLifecycle auditLifecycle(AuditLog auditLog) {
        return new AuditLifecycle(auditLog);
    }

    /** Start and stop records, so a gap in the trail can be told apart from a broker that was down. */
    static final class AuditLifecycle {

        private final AuditLog auditLog;

        AuditLifecycle(AuditLog auditLog) {
            this.auditLog = auditLog;
        }

        @EventListener
        void onReady(ApplicationReadyEvent event) {
            auditLog.event("lifecycle", Map.of("event", "start"));
        }

        @EventListener
        void onClose(ContextClosedEvent event) {
            auditLog.event("lifecycle", Map.of("event", "stop"));
        }
    }
}
