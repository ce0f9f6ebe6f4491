package io.keybroker.config;

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

    /** Runs first among the broker's beans: a typo in a keybroker.* property stops start-up. */
    @Bean
    static UnknownPropertyCheck unknownPropertyCheck(org.springframework.core.env.ConfigurableEnvironment environment) {
        UnknownPropertyCheck check = UnknownPropertyCheck.fromMetadata();
        check.check(environment);
        return check;
    }
}
