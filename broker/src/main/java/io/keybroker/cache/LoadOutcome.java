package io.keybroker.cache;

import java.time.Instant;

/**
 * What one backend read ended in. A read never fails its {@code Mono}: a failure is a value too, so every caller
 * waiting on the same single flight gets the same answer, and the remembered retry time with it.
 */
sealed interface LoadOutcome permits LoadOutcome.Loaded, LoadOutcome.Absent, LoadOutcome.Failed {

    /** The backend had the secret; the entry it was cached as (or only served as, when the table was full). */
    record Loaded(CachedSecret secret) implements LoadOutcome {
    }

    /** The backend has no secret at the location. */
    enum Absent implements LoadOutcome {
        INSTANCE
    }

    /** The read failed; the backend is not asked again for the location before {@code retryAt}. */
    record Failed(RuntimeException error, Instant retryAt) implements LoadOutcome {
    }
}
