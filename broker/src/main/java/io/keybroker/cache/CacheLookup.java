package io.keybroker.cache;

import java.util.Objects;

/**
 * What {@link SecretCache#get} answered and where it came from: a fresh entry, a stale one, or one just read from
 * the backend after a miss.
 *
 * @param secret the immutable entry; build the whole response from this one object
 * @param source where the entry came from (audited as {@code source})
 */
public record CacheLookup(CachedSecret secret, Source source) {

    public CacheLookup {
        Objects.requireNonNull(secret, "secret must not be null");
        Objects.requireNonNull(source, "source must not be null");
    }

    /** Where an answer came from. */
    public enum Source {
        /** A fresh entry (younger than {@code keybroker.cache.ttl}). */
        CACHE,
        /** Read from the backend for this request (a miss or a refresh). */
        BACKEND,
        /** The backend failed and the last good entry, past its ttl but within max-stale, was served. */
        STALE
    }
}
