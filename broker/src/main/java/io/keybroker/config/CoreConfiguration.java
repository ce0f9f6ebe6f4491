package io.keybroker.config;

import io.keybroker.backend.SecretLocator;
import java.time.Clock;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Beans every feature shares. */
@Configuration(proxyBeanMethods = false)
public class CoreConfiguration {

    /** The one clock of the broker; tests replace it to move time without sleeping. */
    @Bean
    Clock clock() {
        return Clock.systemUTC();
    }

    @Bean
    SecretLocator secretLocator(KeybrokerProperties properties) {
        return SecretLocator.from(properties);
    }
}
