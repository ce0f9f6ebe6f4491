package io.keybroker.backend;

import java.util.List;
import reactor.core.publisher.Mono;

/**
 * The one seam between Keybroker and a secret store. The cache, the API and rotation use it without knowing
 * which backend is behind it.
 *
 * <p>Contract, shared by every implementation:
 * <ul>
 *   <li>A secret that does not exist at the location is {@code Mono.empty()}, never an error and never
 *       {@code null}.</li>
 *   <li>A store that cannot be reached, refuses the credentials, times out or answers garbage is an error
 *       signal of {@link BackendUnavailableException}, whose message names the backend, the path and what to
 *       check, and never contains a value.</li>
 *   <li>A value that exists but cannot be used (not JSON when a field is asked for, a missing field, binary
 *       where text is needed) is {@link SecretFormatException}.</li>
 *   <li>Values are handed over as {@link io.keybroker.secret.SecretValue}s that the caller owns and wipes; the
 *       backend keeps no copy.</li>
 * </ul>
 */
public interface SecretBackend {

    /** The backend id used in configuration and in {@link BackendLocation#backend()}: file, vault or aws. */
    String id();

    /** Reads the current and previous versions. */
    Mono<BackendSecret> read(BackendLocation location);

    /** Reads only the cheap change marker (metadata), without any value. */
    Mono<ChangeMarker> marker(BackendLocation location);

    /**
     * The backend paths of every secret whose path starts with {@code prefix} (e.g. {@code prod/}), sorted and
     * without duplicates: paths only, never a value. Nothing under the prefix is an empty list; a store that
     * cannot be reached or refuses the listing is {@link BackendUnavailableException}, as for {@link #read}.
     * Reviews use it to know which secrets exist ({@code keybroker policy diff --backend}); the broker's own read
     * path never lists.
     */
    Mono<List<String>> list(String prefix);

    /**
     * Completes when the backend answers (used by readiness); errors with a message naming the property to
     * fix when it does not.
     */
    Mono<Void> checkHealth();
}
