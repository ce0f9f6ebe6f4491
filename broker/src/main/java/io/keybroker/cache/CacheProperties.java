package io.keybroker.cache;

import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The encrypted in-memory cache ({@code keybroker.cache.*}).
 *
 * @param ttl how long a fetched value is fresh; it is re-read in the background before it expires
 * @param maxStale how long past {@code ttl} the last good value is still served while the backend fails;
 *     after that the answer is 503
 * @param maxSize the most secrets held, watched ones included; the least recently used unwatched one is dropped
 *     beyond it, and watch streams may keep at most half of it loaded
 * @param notFoundTtl how long "the backend has no such secret" is remembered
 * @param notFoundMaxBackoff the longest wait between two background reads of a watched secret the backend does
 *     not have: the wait starts at the larger of {@code not-found-ttl} and the rotation poll interval and doubles
 *     with each read that still finds nothing, up to this
 * @param warmIdentities the identities of the workloads this broker serves (SPIFFE IDs, or {@code cn:NAME}):
 *     when the broker is ready it warms only the names the policy grants by exact name to one of them. Empty
 *     (the default): every name the policy grants by exact name, to any identity. The sidecar injector sets it
 *     to the pod's own SPIFFE ID
 */
@ConfigurationProperties("keybroker.cache")
public record CacheProperties(
        @DefaultValue("5m") Duration ttl,
        @DefaultValue("15m") Duration maxStale,
        @DefaultValue("10000") int maxSize,
        @DefaultValue("10s") Duration notFoundTtl,
        @DefaultValue("5m") Duration notFoundMaxBackoff,
        @DefaultValue List<String> warmIdentities) {

    public CacheProperties {
        warmIdentities = warmIdentities == null ? List.of() : List.copyOf(warmIdentities);
    }
}
