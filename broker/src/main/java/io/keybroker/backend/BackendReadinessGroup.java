package io.keybroker.backend;

import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Puts every registered backend's health contributor (named by its id, e.g. {@code vault}) into the readiness
 * group, so that a new backend kind is waited for without anyone editing a list. A backend not in use has no
 * contributor, which the group allows ({@code validate-group-membership: false} in application.yaml).
 *
 * <p>The property source is added last: an operator's own
 * {@code management.endpoint.health.group.readiness.include} still wins.
 */
public class BackendReadinessGroup implements EnvironmentPostProcessor {

    static final String INCLUDE = "management.endpoint.health.group.readiness.include";

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        environment.getPropertySources().addLast(new MapPropertySource("keybroker-backend-readiness",
                Map.of(INCLUDE, String.join(",", members()))));
    }

    /** {@code readinessState} (the application's own state), then each registered backend id. */
    static Set<String> members() {
        Set<String> members = new LinkedHashSet<>();
        members.add("readinessState");
        members.addAll(BackendKind.registered().keySet());
        return members;
    }
}
