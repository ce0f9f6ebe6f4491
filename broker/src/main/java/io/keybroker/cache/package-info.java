/**
 * The encrypted in-memory cache between the API and the backends.
 *
 * <p>{@link io.keybroker.cache.SecretCache} is the API: {@code get} (single-flight loads, refresh ahead, stale
 * serving, remembered absences), {@code refresh} and the {@code rotations} stream.
 * {@link io.keybroker.cache.EncryptedSecretCache} implements it as a façade over one class per job: timing and
 * back-off ({@code CacheTiming}), one read per location ({@code SingleFlightLoader}), the read and what it leaves
 * behind ({@code BackendReader}), the bounded table ({@code EntryTable}) and the change-marker poller
 * ({@code ChangePoller}), which notices rotations. Entries are immutable
 * {@link io.keybroker.cache.CachedSecret}s whose values are AES-256-GCM ciphertext under a per-process key held by
 * {@link io.keybroker.cache.SecretCipher}, which is also the only way back to plaintext. docs/cache.md explains the
 * protection in memory, its limits, and the timing.
 */
@NullMarked
package io.keybroker.cache;

import org.jspecify.annotations.NullMarked;
