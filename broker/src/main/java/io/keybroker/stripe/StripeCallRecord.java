package io.keybroker.stripe;

import io.keybroker.audit.AuditLog;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One Stripe call's audit record, collected along the way and written exactly once, whatever the outcome: the
 * type {@code stripe-call} line has identity, method, path, decision, rule, reason, the key's name, stage and
 * version, Stripe's status and the latency (to Stripe's response headers: the record is written before the answer
 * is streamed back). Never a key, a body or a query string (a query can hold customer data such as an e-mail
 * address).
 */
final class StripeCallRecord {

    /** Paths are request input: bounded in the audit trail. */
    private static final int MAX_PATH = 256;

    private final AuditLog audit;
    private final StripeMetrics metrics;
    private final Instant time;
    private final long startNanos = System.nanoTime();
    private final String requestId;
    private final String identity;
    private final String method;
    private final String path;
    private String rule;
    private String key;
    private String keyStage;
    private String keyVersion;
    private Integer stripeStatus;
    private boolean retried;
    private boolean recorded;

    StripeCallRecord(AuditLog audit, StripeMetrics metrics, Instant time, String requestId, String identity,
            String method, String path) {
        this.audit = audit;
        this.metrics = metrics;
        this.time = time;
        this.requestId = requestId;
        this.identity = identity;
        this.method = printable(method, 16);
        this.path = printable(path, MAX_PATH);
    }

    void rule(String rule) {
        this.rule = rule;
    }

    void key(String name) {
        this.key = name;
    }

    /** The key version sent on the attempt whose answer the workload gets. */
    void keyUsed(String stage, String version) {
        this.keyStage = stage;
        this.keyVersion = version;
    }

    void retried() {
        this.retried = true;
    }

    void stripeStatus(int status) {
        this.stripeStatus = status;
    }

    String method() {
        return method;
    }

    /**
     * Writes the record (once; later calls do nothing).
     * @param decision allow, deny, invalid, unavailable, timeout, error or cancelled
     * @param outcome the metric outcome: Stripe's status class, or the decision when Stripe did not answer
     */
    void finish(String decision, String outcome, String reason) {
        if (recorded) {
            return;
        }
        recorded = true;
        long micros = (System.nanoTime() - startNanos) / 1000;
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("time", time.toString());
        fields.put("requestId", requestId);
        fields.put("endpoint", "stripe");
        fields.put("identity", identity);
        fields.put("method", method);
        fields.put("path", path);
        fields.put("decision", decision);
        fields.put("rule", rule);
        fields.put("reason", reason);
        fields.put("secret", key);
        fields.put("keyStage", keyStage);
        fields.put("keyVersion", keyVersion);
        fields.put("stripeStatus", stripeStatus);
        fields.put("retried", retried);
        fields.put("latencyMs", micros / 1000.0);
        try {
            audit.event("stripe-call", fields);
        } finally {
            metrics.call(method, outcome, micros, "previous".equals(keyStage) && stripeStatus != null
                    && stripeStatus < 400);
        }
    }

    private static String printable(String raw, int max) {
        StringBuilder out = new StringBuilder(Math.min(raw.length(), max));
        for (int i = 0; i < raw.length() && i < max; i++) {
            char c = raw.charAt(i);
            out.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return raw.length() > max ? out.append("...").toString() : out.toString();
    }
}
