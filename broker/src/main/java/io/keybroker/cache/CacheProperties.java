package io.keybroker.cache;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The encrypted in-memory cache ({@code keybroker.cache.*}).
 *
 * @param ttl how long a fetched value is fresh; it is re-read in the background before it expires
 * @param maxStale how long past {@code ttl} the last good value is still served while the backend fails;
 *     after that the answer is 503
 * @param maxSize the most secrets held; the least recently used is dropped beyond it
 * @param notFoundTtl how long "the backend has no such secret" is remembered
 */
@ConfigurationProperties("keybroker.cache")
public record CacheProperties(
        @DefaultValue("5m") Duration ttl,
        @DefaultValue("15m") Duration maxStale,
        @DefaultValue("10000") int maxSize,
        @DefaultValue("10s") Duration notFoundTtl) {
}
