package io.keybroker.backend.vault;

import io.keybroker.backend.BackendHealthIndicator;

import io.keybroker.config.ConditionalOnBackend;
import java.time.Clock;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.cloud.vault.config.VaultProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.event.EventListener;
import org.springframework.scheduling.concurrent.ThreadPoolTaskScheduler;

/**
 * Wires the vault backend when {@code keybroker.backend} or a mapping names {@code vault}. It binds Spring Cloud
 * Vault's {@link VaultProperties} ({@code spring.cloud.vault.*}) itself: {@code spring.cloud.vault.enabled} stays
 * {@code false} so that Spring Cloud Vault never becomes a property source (which would copy secrets into the
 * Spring Environment as Strings) and its auto-configuration builds nothing.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnBackend(VaultConnection.BACKEND)
@EnableConfigurationProperties({VaultProperties.class, VaultBackendProperties.class})
public class VaultBackendConfiguration {

    /** Token renewal runs on the broker's one scheduler. */
    @Bean(destroyMethod = "close")
    VaultConnection vaultConnection(VaultProperties vault, VaultBackendProperties properties,
            ThreadPoolTaskScheduler keybrokerScheduler) {
        return VaultConnection.create(vault, properties, keybrokerScheduler);
    }

    @Bean
    VaultSecretBackend vaultSecretBackend(VaultConnection vaultConnection, Clock clock) {
        return new VaultSecretBackend(vaultConnection, clock);
    }

    /** Contributes {@code vault} to the health endpoint; application.yaml puts it in the readiness group. */
    @Bean
    BackendHealthIndicator vaultHealthIndicator(VaultSecretBackend vaultSecretBackend) {
        return new BackendHealthIndicator(vaultSecretBackend);
    }

    @Bean
    StartupCheck vaultStartupCheck(BackendHealthIndicator vaultHealthIndicator) {
        return new StartupCheck(vaultHealthIndicator);
    }

    /**
     * Asks Vault once when the broker is up, so a wrong address or rejected credentials are logged at start
     * even before the first readiness probe. Never fails start-up.
     */
    static final class StartupCheck {

        private final BackendHealthIndicator health;

        StartupCheck(BackendHealthIndicator health) {
            this.health = health;
        }

        @EventListener
        void onReady(ApplicationReadyEvent event) {
            health.health().subscribe();
        }
    }
}
