package io.keybroker.config;

import java.nio.file.Path;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Top-level broker settings ({@code keybroker.*}); each feature has its own properties record under its own
 * prefix.
 *
 * @param environment the one environment this broker serves (e.g. {@code prod}, {@code staging}); every backend
 *     path starts with it, so a broker for staging can never read a prod path
 * @param backend the default backend for names no mapping covers: {@code file}, {@code vault} or {@code aws}
 * @param dev development mode: generate a development CA and certificates, an example policy and example secrets
 *     under {@code dev-dir}, and print a working curl line. Never switched on implicitly.
 * @param devDir where development mode writes its certificates, policy and secrets
 * @param mappings per-name or per-prefix overrides of backend, backend path, JSON field and property name
 */
@ConfigurationProperties("keybroker")
public record KeybrokerProperties(
        String environment,
        @DefaultValue("file") String backend,
        @DefaultValue("false") boolean dev,
        @DefaultValue("keybroker-dev") Path devDir,
        List<MappingProperties> mappings) {

    public KeybrokerProperties {
        mappings = mappings == null ? List.of() : List.copyOf(mappings);
    }

    /**
     * One mapping from logical names to a backend location.
     *
     * @param name an exact logical name this mapping applies to (give either name or prefix)
     * @param prefix a name prefix such as {@code stripe/restricted}; applies to the prefix and everything below
     * @param backend the backend for these names; default {@code keybroker.backend}
     * @param path the backend path template; must start with {@code {environment}/}; {@code {name}} is the full
     *     logical name and {@code {rest}} the part below the prefix. Default {@code {environment}/{name}}
     * @param field the JSON field to pick out of the stored value; default {@code value} for vault, none for
     *     aws and file
     * @param property the Spring property name for the Spring Cloud Config endpoint; default the name with
     *     {@code /} replaced by {@code .}; for a prefix mapping, {@code {rest}} may be used
     */
    public record MappingProperties(String name, String prefix, String backend, String path, String field,
            String property) {
    }
}
