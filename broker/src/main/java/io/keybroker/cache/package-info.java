/**
 * The encrypted in-memory cache between the API and the backends.
 *
 * <p>{@link io.keybroker.cache.SecretCache} is the API: {@code get} (single-flight loads, refresh ahead, stale
 * serving, remembered absences), {@code refresh} and the {@code rotations} stream.
 * {@link io.keybroker.cache.EncryptedSecretCache} implements it and polls the backends' change markers with
 * jitter to notice rotations. Entries are immutable {@link io.keybroker.cache.CachedSecret}s whose values are
 * AES-256-GCM ciphertext under a per-process key held by {@link io.keybroker.cache.SecretCipher}, which is also
 * the only way back to plaintext. docs/cache.md explains the protection in memory, its limits, and the timing.
 */
@NullMarked
package io.keybroker.cache;

import org.jspecify.annotations.NullMarked;
