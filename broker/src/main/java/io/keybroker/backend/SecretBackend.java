package io.keybroker.backend;

import io.keybroker.secret.SecretValue;
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

    /**
     * The backend id used in configuration and in {@link BackendLocation#backend()}: the id of its
     * {@link BackendKind}.
     */
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

    // ---------------------------------------------------------------------------------------------- write side
    // Rotation writes through these three, in this order: stage, then promote or discard. Each backend maps them to
    // what its store offers (AWS staging labels, Vault KV check-and-set); a backend that must not write refuses
    // stage with WriteRefusedException. The broker's serving path never writes.

    /**
     * Puts {@code value} in place as a new version that is not served yet. The caller keeps owning {@code value}
     * and passes the same one to {@link #promote}.
     *
     * @throws WriteRefusedException (as the error signal) when this backend or location cannot be written
     * @throws WriteConflictException when {@link WriteRequest#expectedCurrent()} is no longer current
     */
    Mono<StagedVersion> stage(BackendLocation location, SecretValue value, WriteRequest request);

    /**
     * Makes the staged version current and the one it replaces previous.
     *
     * @throws WriteConflictException (as the error signal) when another version became current since staging;
     *     nothing was promoted
     */
    Mono<PromotedVersion> promote(StagedVersion staged, SecretValue value);

    /** Takes the staged version out again; the current version stays as it was. Returns what was done. */
    Mono<String> discard(StagedVersion staged);

    /**
     * Completes when the backend answers (used by readiness); errors with a message naming the property to
     * fix when it does not.
     */
    Mono<Void> checkHealth();
}
