/**
 * The {@code vault} backend: KV version 2 secrets on HashiCorp Vault or OpenBao, read with Spring Vault's
 * reactive client and configured with Spring Cloud Vault's {@code spring.cloud.vault.*} properties plus
 * {@code keybroker.vault.*}. {@link io.keybroker.backend.vault.VaultSecretBackend} serves reads and change
 * markers, {@link io.keybroker.backend.vault.VaultWriter} writes rotated versions with check-and-set, and
 * {@link io.keybroker.backend.vault.VaultConnection} holds the session (login, renewal, re-login). docs/vault.md
 * has the policies, the login set-ups and the traffic per secret.
 */
@NullMarked
package io.keybroker.backend.vault;

import org.jspecify.annotations.NullMarked;
