package io.keybroker.rotation;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Rotation detection and the grace window ({@code keybroker.rotation.*}).
 *
 * @param pollInterval how often each cached secret's change marker (metadata only) is polled; each poll is
 *     jittered by up to {@code jitter} of the interval so a fleet does not poll in step
 * @param gracePeriod how long the previous version is served, counted from the creation time of the current
 *     version in the backend (Stripe lets an old key live at most 7 days after a roll)
 * @param jitter the fraction of {@code pollInterval} by which each poll is randomly moved, 0 to 1
 * @param refreshMinInterval the least time between two backend re-reads of one secret triggered by
 *     {@code POST /v1/secrets/{name}/refresh}; earlier calls get 429
 */
@ConfigurationProperties("keybroker.rotation")
public record RotationProperties(
        @DefaultValue("30s") Duration pollInterval,
        @DefaultValue("7d") Duration gracePeriod,
        @DefaultValue("0.2") double jitter,
        @DefaultValue("5s") Duration refreshMinInterval) {
}
