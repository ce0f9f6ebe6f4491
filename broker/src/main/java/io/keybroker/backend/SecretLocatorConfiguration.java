package io.keybroker.backend;

import io.keybroker.config.ConfigurationProblemException;
import io.keybroker.config.KeybrokerProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The {@link SecretLocator} bean. It is declared here, beside the locator, and not with the shared beans of
 * {@code config}: configuration knows no backend, the backends read configuration (docs/architecture.md).
 */
@Configuration(proxyBeanMethods = false)
class SecretLocatorConfiguration {

    @Bean
    SecretLocator secretLocator(KeybrokerProperties properties) {
        try {
            return SecretLocator.from(properties);
        } catch (IllegalStateException ex) {
            // The locator lists every problem below a heading line; start-up reports them one per line.
            throw new ConfigurationProblemException(ex.getMessage().lines().skip(1)
                    .map(line -> line.replaceFirst("^\\s*- ", "")).toList());
        }
    }
}
