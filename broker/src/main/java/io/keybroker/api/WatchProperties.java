package io.keybroker.api;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Bounds on watch streams ({@code keybroker.watch.*}). A stream is cheap for the caller and keeps the backend
 * read for as long as it is open, so these bound what one workload can make the broker do.
 *
 * @param maxStreamsPerIdentity the most watch streams one workload identity may hold open at once; one more is
 *     refused with 429
 * @param maxNames the most names one watch request may give; more is refused with 400. Each name also costs one
 *     request of the workload's rate limit
 */
@ConfigurationProperties("keybroker.watch")
public record WatchProperties(
        @DefaultValue("4") int maxStreamsPerIdentity,
        @DefaultValue("100") int maxNames) {
}
