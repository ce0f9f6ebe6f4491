package io.keybroker.metrics;

import io.keybroker.audit.AuditProperties;
import io.keybroker.listener.TlsMaterialView;
import io.keybroker.policy.PolicyStore;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The broker's own metrics, beside those of the cache and backends. */
@Configuration(proxyBeanMethods = false)
public class MetricsConfiguration {

    @Bean
    AccessMetrics accessMetrics(MeterRegistry registry, PolicyStore policies) {
        return new AccessMetrics(registry, policies);
    }

    @Bean
    @ConditionalOnProperty("keybroker.audit.file")
    AuditVolumeMetrics auditVolumeMetrics(MeterRegistry registry, AuditProperties audit) {
        return new AuditVolumeMetrics(registry, audit.file());
    }

    @Bean
    CertificateMetrics certificateMetrics(MeterRegistry registry, TlsMaterialView tls, Clock clock) {
        return new CertificateMetrics(registry, tls, clock);
    }
}
