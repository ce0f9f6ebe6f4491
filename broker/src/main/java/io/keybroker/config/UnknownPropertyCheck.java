package io.keybroker.config;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.context.properties.source.IterableConfigurationPropertySource;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;
import org.springframework.core.io.Resource;
import org.springframework.core.io.support.PathMatchingResourcePatternResolver;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Refuses to start on a {@code keybroker.*} property that does not exist (a typo such as
 * {@code --keybroker.cache.tll=1m} would otherwise be ignored silently and the default used), and suggests the
 * nearest real name. Environment variables only warn: Kubernetes injects {@code KEYBROKER_SERVICE_HOST} and
 * similar variables for a Service named keybroker, which must not stop the broker.
 *
 * <p>A source that declares {@code keybroker.config.written-for} a newer broker version than this one (the
 * chart's namespace ConfigMap, after a rollback of the sidecar image) only warns too: its new names are for a
 * newer broker, and refusing them would crash-loop every pod of the namespace. Its values for names this broker
 * knows are still bound and checked.
 */
public final class UnknownPropertyCheck {

    private static final Logger log = LoggerFactory.getLogger(UnknownPropertyCheck.class);
    private static final ConfigurationPropertyName ROOT = ConfigurationPropertyName.of("keybroker");
    private static final Set<String> MAPPING_FIELDS = Set.of("name", "prefix", "backend", "path", "field", "property");
    private static final ConfigurationPropertyName WRITTEN_FOR = ConfigurationPropertyName.of("keybroker.config.written-for");

    private final Set<ConfigurationPropertyName> known;
    private final String version;

    private UnknownPropertyCheck(Set<ConfigurationPropertyName> known, String version) {
        this.known = known;
        this.version = version;
    }

    /** This broker's names, and its version from the jar's manifest ({@code null} when run from classes). */
    public static UnknownPropertyCheck fromMetadata() {
        return fromMetadata(UnknownPropertyCheck.class.getPackage().getImplementationVersion());
    }

    /**
     * Loads the property names from the configuration metadata generated at build time.
     * @param version the running broker's version, or {@code null} when unknown (then every source is strict)
     */
    public static UnknownPropertyCheck fromMetadata(String version) {
        Set<ConfigurationPropertyName> names = new HashSet<>();
        JsonMapper json = JsonMapper.builder().build();
        try {
            Resource[] resources = new PathMatchingResourcePatternResolver()
                    .getResources("classpath*:META-INF/spring-configuration-metadata.json");
            for (Resource resource : resources) {
                try (InputStream in = resource.getInputStream()) {
                    JsonNode root = json.readTree(in);
                    for (JsonNode property : root.path("properties")) {
                        String name = property.path("name").asString();
                        if (name.startsWith("keybroker.")) {
                            names.add(ConfigurationPropertyName.of(name));
                        }
                    }
                }
            }
        } catch (IOException ex) {
            throw new IllegalStateException("cannot read the configuration metadata of the broker jar", ex);
        }
        return new UnknownPropertyCheck(Set.copyOf(names), version);
    }

    /** @throws ConfigurationProblemException listing each unknown name with a suggestion */
    public void check(ConfigurableEnvironment environment) {
        List<String> problems = new ArrayList<>();
        for (ConfigurationPropertySource source : ConfigurationPropertySources.get(environment)) {
            if (!(source instanceof IterableConfigurationPropertySource iterable)) {
                continue;
            }
            boolean fromEnvironmentVariables = source.getUnderlyingSource() instanceof SystemEnvironmentPropertySource;
            String writtenFor = writtenFor(source);
            boolean forNewerBroker = writtenFor != null && version != null && Versions.compare(writtenFor, version) > 0;
            iterable.stream().filter(ROOT::isAncestorOf).filter(name -> !isKnown(name)).forEach(name -> {
                String problem = "unknown property " + name + describe(source) + suggestion(name);
                if (fromEnvironmentVariables) {
                    log.warn("Ignoring environment variable for {}", problem);
                } else if (forNewerBroker) {
                    log.warn("Ignoring {}: that configuration was written for Keybroker {} and this is {} (a "
                            + "rollback?); the setting takes effect again with a broker that has it", problem,
                            writtenFor, version);
                } else {
                    problems.add(problem);
                }
            });
        }
        if (!problems.isEmpty()) {
            throw new ConfigurationProblemException(problems);
        }
    }

    private static String writtenFor(ConfigurationPropertySource source) {
        var property = source.getConfigurationProperty(WRITTEN_FOR);
        return property == null || property.getValue() == null ? null : property.getValue().toString();
    }

    boolean isKnown(ConfigurationPropertyName name) {
        if (known.contains(name)) {
            return true;
        }
        ConfigurationPropertyName mappings = ConfigurationPropertyName.of("keybroker.mappings");
        if (mappings.isAncestorOf(name)) {
            // keybroker.mappings[i].<field>
            return name.getNumberOfElements() == 4 && name.isNumericIndex(2)
                    && MAPPING_FIELDS.contains(name.getLastElement(ConfigurationPropertyName.Form.UNIFORM));
        }
        // Maps and lists declared as one property (e.g. keybroker.aws.endpoints.<region>).
        for (ConfigurationPropertyName candidate : known) {
            if (candidate.isAncestorOf(name)) {
                return true;
            }
        }
        return false;
    }

    private static String describe(ConfigurationPropertySource source) {
        Object underlying = source.getUnderlyingSource();
        String origin = underlying instanceof org.springframework.core.env.PropertySource<?> ps ? ps.getName() : "";
        return origin.isEmpty() ? "" : " (from " + origin + ")";
    }

    private String suggestion(ConfigurationPropertyName name) {
        String wrong = name.toString();
        return NearestName.among(wrong, known.stream().map(ConfigurationPropertyName::toString).toList(),
                        Math.max(3, wrong.length() / 4))
                .map(best -> "; did you mean " + best + "?")
                .orElse("; docs/configuration.md lists the supported properties");
    }
}
