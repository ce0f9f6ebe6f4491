package io.keybroker.alert;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Alert thresholds and delivery ({@code keybroker.alerts.*}).
 *
 * @param denialBurst denials of one identity within {@code denialWindow} that raise {@code denial-burst}
 * @param denialWindow the sliding window of the denial count
 * @param rateFactor how many times its own moving per-minute baseline an identity must read to raise
 *     {@code unusual-rate}
 * @param rateMinimum the least reads in a minute that can raise {@code unusual-rate}, so quiet workloads do not
 *     alert on small numbers
 * @param rateWarmup how long an identity is observed before its baseline is trusted
 * @param firstRead raise {@code first-read} when an identity reads a secret for the first time since start
 * @param staleRepeat the least time between two {@code stale-served} alerts for one secret
 * @param certificateExpiryWarning raise {@code certificate-expiry} when a server or trust-bundle certificate
 *     expires within this time
 * @param certificateCheckInterval how often certificates are checked
 * @param webhook optional webhook delivery
 */
@ConfigurationProperties("keybroker.alerts")
public record AlertProperties(
        @DefaultValue("20") int denialBurst,
        @DefaultValue("60s") Duration denialWindow,
        @DefaultValue("5.0") double rateFactor,
        @DefaultValue("120") int rateMinimum,
        @DefaultValue("10m") Duration rateWarmup,
        @DefaultValue("true") boolean firstRead,
        @DefaultValue("10m") Duration staleRepeat,
        @DefaultValue("7d") Duration certificateExpiryWarning,
        @DefaultValue("1h") Duration certificateCheckInterval,
        @DefaultValue Webhook webhook) {

    /**
     * Webhook delivery of alerts, signed like Stripe's webhooks.
     *
     * @param url where alerts are POSTed; no webhook when unset
     * @param secretFile a file holding the HMAC-SHA256 signing secret (a file, so it is not visible in the
     *     process list or the environment)
     * @param queueCapacity alerts waiting for delivery; beyond it the newest noise alert is dropped (security
     *     alerts are kept ahead of noise) and counted
     * @param maxAttempts delivery attempts per alert (retried on 5xx and network errors, not on 4xx)
     * @param timeout per attempt
     */
    public record Webhook(URI url, Path secretFile, @DefaultValue("1000") int queueCapacity,
            @DefaultValue("5") int maxAttempts, @DefaultValue("5s") Duration timeout) {
    }
}
