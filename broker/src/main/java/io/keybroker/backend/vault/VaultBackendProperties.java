package io.keybroker.backend.vault;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * Keybroker's own settings of the Vault / OpenBao backend ({@code keybroker.vault.*}). Where Vault is, and how
 * the broker logs in, are Spring Cloud Vault's own {@code spring.cloud.vault.*} properties (docs/vault.md).
 *
 * @param kvMount the mount path of the KV version 2 secrets engine; the broker reads
 *     {@code <kv-mount>/data/<path>} and {@code <kv-mount>/metadata/<path>}
 * @param defaultField the field of the KV data picked when a location names none (the default mapping names
 *     {@code value}; {@code keybroker.mappings[i].field} picks another per mapping)
 * @param timeout the longest one backend operation may take, login included (each HTTP exchange with Vault is
 *     also cut off after it); a slow or hanging Vault then fails the read with a 503-mapped error instead of
 *     holding the request
 * @param maxResponseSize the largest Vault answer read; anything bigger is refused as a backend error
 */
@ConfigurationProperties("keybroker.vault")
public record VaultBackendProperties(
        @DefaultValue("secret") String kvMount,
        @DefaultValue("value") String defaultField,
        @DefaultValue("5s") Duration timeout,
        @DefaultValue("1MB") DataSize maxResponseSize) {
}
