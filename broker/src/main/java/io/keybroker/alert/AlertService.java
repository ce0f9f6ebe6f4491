package io.keybroker.alert;

import io.keybroker.audit.AuditLog;
import io.keybroker.audit.AuditUnavailableException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Raises alerts: one structured log line on logger {@code keybroker.alerts}, the counter
 * {@code keybroker_alerts_total{kind}}, an {@code alert} audit record, and, when configured, a signed webhook.
 */
public class AlertService {

    private static final Logger log = LoggerFactory.getLogger("keybroker.alerts");

    private final MeterRegistry registry;
    private final AuditLog audit;
    private final WebhookSender webhook;

    public AlertService(MeterRegistry registry, AuditLog audit, WebhookSender webhook) {
        this.registry = registry;
        this.audit = audit;
        this.webhook = webhook;
    }

    public void raise(Alert alert) {
        log.atWarn().addKeyValue("alert", alert.kind()).addKeyValue("identity", alert.identity())
                .addKeyValue("secret", alert.secret()).addKeyValue("alertId", alert.id())
                .log("ALERT {}: {}", alert.kind(), alert.detail());
        Counter.builder("keybroker.alerts").description("Alerts raised, by kind").tag("kind", alert.kind())
                .register(registry).increment();
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("alertId", alert.id());
        fields.put("kind", alert.kind());
        fields.put("identity", alert.identity());
        fields.put("secret", alert.secret());
        fields.put("detail", alert.detail());
        try {
            audit.event("alert", fields);
        } catch (AuditUnavailableException ex) {
            // The alert still goes out by log, metric and webhook: an alert about the audit volume must not be
            // lost because the volume it warns about is the one that failed.
            log.warn("alert {} could not be audited: {}", alert.id(), ex.getMessage());
        }
        if (webhook != null) {
            webhook.enqueue(alert);
        }
    }
}
