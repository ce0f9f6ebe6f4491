package io.keybroker.stripe;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Stripe through the broker ({@code keybroker.stripe.*}).
 *
 * @param apiBase where {@code /stripe/{path}} calls go: {@code apiBase + /path}; https, or http for a local test
 *     peer such as stripe-mock
 * @param trustBundle PEM file of the CA certificates trusted for {@code apiBase} instead of the JDK's trust store
 *     (for a test peer with its own certificate); unset means the JDK's trust store. There is no trust-all setting
 * @param connectTimeout the longest wait for a TCP and TLS connection to Stripe
 * @param responseTimeout the longest wait for Stripe's response headers, and then between two reads of its body;
 *     a call that runs out of it is answered 504
 * @param maxConnections the most connections to Stripe at once (one keep-alive pool for all workloads); calls
 *     beyond it wait up to {@code pendingAcquireTimeout}
 * @param pendingAcquireTimeout how long a call waits for a free pooled connection before it is answered 503
 * @param maxIdleTime how long an idle pooled connection is kept open
 * @param webhookTolerance how far a webhook's signed timestamp may be from now, and how long a verified event id
 *     is remembered to refuse replays
 * @param replayCacheSize the most event ids remembered for replay detection (about 200 bytes each); when full of
 *     ids still inside the tolerance, verification answers 503 rather than forget one
 */
@ConfigurationProperties("keybroker.stripe")
public record StripeProperties(
        @DefaultValue("https://api.stripe.com") URI apiBase,
        Path trustBundle,
        @DefaultValue("5s") Duration connectTimeout,
        @DefaultValue("80s") Duration responseTimeout,
        @DefaultValue("64") int maxConnections,
        @DefaultValue("5s") Duration pendingAcquireTimeout,
        @DefaultValue("60s") Duration maxIdleTime,
        @DefaultValue("5m") Duration webhookTolerance,
        @DefaultValue("10000") int replayCacheSize) {

    public StripeProperties {
        String scheme = apiBase.getScheme();
        if (!"https".equals(scheme) && !"http".equals(scheme) || apiBase.getHost() == null) {
            throw new IllegalArgumentException("keybroker.stripe.api-base must be an https:// URL such as "
                    + "https://api.stripe.com (http:// only for a local test peer)");
        }
        if (apiBase.getRawQuery() != null || apiBase.getRawFragment() != null) {
            throw new IllegalArgumentException("keybroker.stripe.api-base must not have a query or fragment");
        }
        if (maxConnections < 1 || replayCacheSize < 1) {
            throw new IllegalArgumentException("keybroker.stripe.max-connections and keybroker.stripe."
                    + "replay-cache-size must be at least 1");
        }
    }

    /** The API base without a trailing slash, so that {@code base + "/v1/..."} never doubles it. */
    String base() {
        String base = apiBase.toString();
        return base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
    }
}
