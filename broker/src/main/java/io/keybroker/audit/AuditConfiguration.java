package io.keybroker.audit;

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

    @Bean(destroyMethod = "close")
    ChainedAuditLog auditLog(AuditProperties properties, Clock clock) {
        return new ChainedAuditLog(properties.file(), properties.fsync(), properties.maxFileSize().toBytes(), clock);
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
