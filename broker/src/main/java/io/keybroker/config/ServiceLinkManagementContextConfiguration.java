package io.keybroker.config;

import org.springframework.boot.actuate.autoconfigure.web.ManagementContextConfiguration;
import org.springframework.boot.actuate.autoconfigure.web.ManagementContextType;
import org.springframework.context.EnvironmentAware;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.ImportSelector;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.Environment;
import org.springframework.core.type.AnnotationMetadata;

/**
 * The management server's child context gets a fresh system-environment property source from Boot, which
 * {@link ServiceLinkEnvironmentPostProcessor} never saw: this removes the service-link variables from it too,
 * first among the child's configurations, before any of their conditions read {@code server.port}.
 */
@ManagementContextConfiguration(value = ManagementContextType.CHILD, proxyBeanMethods = false)
@Order(Ordered.HIGHEST_PRECEDENCE)
@Import(ServiceLinkManagementContextConfiguration.ChildEnvironment.class)
public class ServiceLinkManagementContextConfiguration {

    /** An import selector is handed the child's environment while its configurations are still being parsed. */
    static class ChildEnvironment implements ImportSelector, EnvironmentAware {

        @Override
        public void setEnvironment(Environment environment) {
            if (environment instanceof ConfigurableEnvironment configurable) {
                // The parent already logged the names; once is enough.
                ServiceLinkEnvironmentPostProcessor.removeServiceLinks(configurable, null);
            }
        }

        @Override
        public String[] selectImports(AnnotationMetadata metadata) {
            return new String[0];
        }
    }
}
