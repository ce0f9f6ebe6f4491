package io.keybroker.policy;

import io.keybroker.config.ConfigurationProblemException;
import java.nio.file.Path;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.scheduling.TaskScheduler;

/**
 * Wires the policy engine: the policy is loaded once at start (a missing directory or an invalid policy stops
 * start-up with every problem listed), then watched for changes.
 */
@Configuration(proxyBeanMethods = false)
public class PolicyConfiguration {

    private static final Logger log = LoggerFactory.getLogger(PolicyConfiguration.class);
    private static final Duration PROMISED_RELOAD = Duration.ofSeconds(5);

    @Bean
    PolicyLoader policyLoader() {
        return new PolicyLoader();
    }

    @Bean
    PolicyStore policyStore(PolicyProperties properties, PolicyLoader loader) {
        Path dir = properties.dir();
        if (dir == null) {
            throw new ConfigurationProblemException("keybroker.policy.dir is not set: set it to the directory of "
                    + "policy YAML files (docs/policy.md), e.g. --keybroker.policy.dir=/etc/keybroker/policy, or "
                    + "run with --keybroker.dev=true to create an example policy");
        }
        PolicySet set;
        try {
            set = loader.load(dir);
        } catch (InvalidPolicyException ex) {
            throw new ConfigurationProblemException(ex.errors().stream()
                    .map(error -> "keybroker.policy.dir=" + dir + ": " + error)
                    .toList());
        }
        set.warnings().forEach(warning -> log.warn("Policy warning: {}", warning));
        log.info("Policy loaded from {}: {} file(s), {} workload entries, {} grants (digest {})", dir,
                set.files().size(), set.workloads().size(), set.grants().size(), set.digest());
        return new PolicyStore(set);
    }

    @Bean
    PolicyWatcher policyWatcher(PolicyProperties properties, PolicyLoader loader, PolicyStore store,
            ObjectProvider<PolicyReloadListener> listeners, TaskScheduler keybrokerScheduler) {
        Duration interval = properties.reloadInterval();
        if (interval == null || interval.isNegative() || interval.isZero()) {
            throw new ConfigurationProblemException("keybroker.policy.reload-interval must be a positive duration, "
                    + "e.g. 2s");
        }
        if (interval.compareTo(PROMISED_RELOAD) > 0) {
            log.warn("keybroker.policy.reload-interval is {}: policy changes take up to that long to apply, longer "
                    + "than the documented 5 seconds", interval);
        }
        return new PolicyWatcher(properties.dir(), interval, loader, store,
                () -> listeners.orderedStream().toList(), keybrokerScheduler);
    }

    @Bean
    RateLimiter rateLimiter(PolicyStore store, PolicyProperties properties) {
        String raw = properties.unknownIdentityRateLimit();
        if (raw == null || raw.isBlank() || "none".equals(raw)) {
            return new RateLimiter(store, null);
        }
        try {
            return new RateLimiter(store, RateLimit.parse(raw));
        } catch (IllegalArgumentException ex) {
            throw new ConfigurationProblemException("keybroker.policy.unknown-identity-rate-limit: " + ex.getMessage()
                    + ", or none");
        }
    }
}
