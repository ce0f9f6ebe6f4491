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
 * @param firstRead raise {@code first-read} when an identity reads a secret it has not read before: not in the
 *     retained audit trail, and not during {@code firstReadWarmup}
 * @param firstReadWarmup after start, reads are learned without alerting for this long, so that a new pod (whose
 *     audit trail is empty) does not alert on its workload's ordinary first reads
 * @param staleRepeat the least time between two {@code stale-served} alerts for one secret
 * @param certificateExpiryWarning raise {@code certificate-expiry} when a server or trust-bundle certificate
 *     expires within this time, or earlier by {@code certificateExpiryFraction}, whichever comes later
 * @param certificateExpiryFraction raise {@code certificate-expiry} when less than this fraction of a
 *     certificate's lifetime is left: its renewal is overdue (cert-manager renews with a third left by default,
 *     so 0.25 leaves it time to renew and the kubelet time to update the files); a 24 h certificate alerts with
 *     6 h left, a one-year CA with {@code certificateExpiryWarning} left
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
        @DefaultValue("10m") Duration firstReadWarmup,
        @DefaultValue("10m") Duration staleRepeat,
        @DefaultValue("7d") Duration certificateExpiryWarning,
        @DefaultValue("0.25") double certificateExpiryFraction,
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
