package io.keybroker.config;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.apache.commons.logging.Log;
import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.logging.DeferredLogFactory;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MutablePropertySources;
import org.springframework.core.env.PropertySource;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;

/**
 * Removes Kubernetes (Docker-link) service-link variables from the system environment before anything binds it.
 * A Service named {@code server} makes the kubelet inject {@code SERVER_PORT=tcp://10.0.0.1:8080}, which relaxed
 * binding reads as {@code server.port}, and one named {@code keybroker} injects {@code KEYBROKER_PORT=tcp://...},
 * an unknown {@code keybroker.port}: either stops the broker. The chart turns service links off, but the broker
 * must not depend on that, so every variable in a service-link form is dropped, whatever its prefix, and its name
 * (never its value) is logged.
 */
public class ServiceLinkEnvironmentPostProcessor implements EnvironmentPostProcessor, Ordered {

    /** {@code NAME_PORT=tcp://10.0.0.1:8080} and {@code NAME_PORT_8080_TCP=tcp://10.0.0.1:8080}. */
    private static final Pattern LINK_URL_NAME = Pattern.compile("[A-Z0-9_]+_PORT(_\\d+_(TCP|UDP|SCTP))?");
    private static final Pattern LINK_URL_VALUE = Pattern.compile("(?i)(tcp|udp|sctp)://[0-9a-f.:\\[\\]]+:\\d+");
    /** {@code NAME_PORT_8080_TCP_PROTO=tcp}, {@code ..._PORT=8080}, {@code ..._ADDR=10.0.0.1}. */
    private static final Pattern LINK_PART_NAME = Pattern.compile("[A-Z0-9_]+_PORT_\\d+_(TCP|UDP|SCTP)_(PROTO|PORT|ADDR)");
    /** {@code NAME_SERVICE_HOST=10.0.0.1}, {@code NAME_SERVICE_PORT=8080}, {@code NAME_SERVICE_PORT_HTTPS=8443}. */
    private static final Pattern SERVICE_NAME = Pattern.compile("[A-Z0-9_]+_SERVICE_(HOST|PORT(_[A-Z0-9_]+)?)");
    private static final Pattern SERVICE_VALUE = Pattern.compile("(?i)[0-9a-f.:]+");

    private final Log log;

    public ServiceLinkEnvironmentPostProcessor(DeferredLogFactory logFactory) {
        this.log = logFactory.getLog(ServiceLinkEnvironmentPostProcessor.class);
    }

    /** Before config data and every other post-processor reads the environment. */
    @Override
    public int getOrder() {
        return Ordered.HIGHEST_PRECEDENCE;
    }

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        removeServiceLinks(environment, log);
    }

    /**
     * Replaces {@code environment}'s system-environment property source with one without service-link variables,
     * and logs their names. Also used for the management server's child context, which builds its own copy of the
     * system environment (Boot's {@code ManagementContextFactory}) and would otherwise read {@code SERVER_PORT}.
     */
    static void removeServiceLinks(ConfigurableEnvironment environment, Log log) {
        MutablePropertySources sources = environment.getPropertySources();
        String name = StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME;
        PropertySource<?> source = sources.get(name);
        if (source == null || !(source.getSource() instanceof Map<?, ?> variables)) {
            return;
        }
        Map<String, Object> kept = new LinkedHashMap<>();
        TreeSet<String> ignored = new TreeSet<>();
        variables.forEach((key, value) -> {
            if (isServiceLink(String.valueOf(key), String.valueOf(value))) {
                ignored.add(String.valueOf(key));
            } else {
                kept.put(String.valueOf(key), value);
            }
        });
        if (ignored.isEmpty()) {
            return;
        }
        // Same name and type, so relaxed binding still maps SERVER_PORT-style names onto properties.
        sources.replace(name, new SystemEnvironmentPropertySource(name, kept));
        if (log != null) {
            log.info("Ignoring service-link environment variables (Kubernetes enableServiceLinks): "
                    + String.join(", ", ignored));
        }
    }

    static boolean isServiceLink(String name, String value) {
        String trimmed = value.trim();
        return (LINK_URL_NAME.matcher(name).matches() && LINK_URL_VALUE.matcher(trimmed).matches())
                || LINK_PART_NAME.matcher(name).matches()
                || (SERVICE_NAME.matcher(name).matches() && SERVICE_VALUE.matcher(trimmed).matches());
    }
}
