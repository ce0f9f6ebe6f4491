package io.keybroker.backend;

import io.keybroker.config.KeybrokerProperties;
import io.keybroker.config.KeybrokerProperties.MappingProperties;
import io.keybroker.secret.InvalidSecretNameException;
import io.keybroker.secret.SecretName;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Resolves logical names to backend locations through {@code keybroker.mappings}, and otherwise through the
 * default mapping: backend {@code keybroker.backend}, path {@code <environment>/<name>}, field: the backend's default (Vault
 * {@code value}, otherwise the value as stored), property name = the name with {@code /} replaced by {@code .}.
 *
 * <p>Every path template must start with {@code {environment}/}, and names can neither contain {@code ..} nor
 * start a segment with a dot, so a broker configured for {@code staging} can only ever produce paths under
 * {@code staging/}. An exact-name mapping beats a prefix mapping; a longer prefix beats a shorter one.
 */
public final class SecretLocator {

    /** The backends this build knows. */
    public static final Set<String> BACKENDS = Set.of("file", "vault", "aws");

    private static final Pattern ENVIRONMENT = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");
    private static final Pattern PROPERTY = Pattern.compile("[a-z0-9][a-zA-Z0-9._-]*");
    private static final String DEFAULT_PATH = "{environment}/{name}";

    private final String environment;
    private final String defaultBackend;
    private final List<Mapping> mappings;

    private SecretLocator(String environment, String defaultBackend, List<Mapping> mappings) {
        this.environment = environment;
        this.defaultBackend = defaultBackend;
        this.mappings = mappings;
    }

    /**
     * Validates the configuration and builds the locator.
     * @throws IllegalStateException listing every problem, each naming the property to fix
     */
    public static SecretLocator from(KeybrokerProperties properties) {
        List<String> problems = new ArrayList<>();
        String environment = properties.environment();
        if (environment == null || environment.isBlank()) {
            problems.add("keybroker.environment is not set: set it to the environment this broker serves, e.g. "
                    + "prod or staging (every backend path starts with it)");
        } else if (!ENVIRONMENT.matcher(environment).matches()) {
            problems.add("keybroker.environment '" + SecretName.printable(environment) + "' is invalid: use lower "
                    + "case letters, digits, '-' and '_' (e.g. prod, staging)");
        }
        if (!BACKENDS.contains(properties.backend())) {
            problems.add("keybroker.backend '" + SecretName.printable(String.valueOf(properties.backend()))
                    + "' is unknown: use one of file, vault, aws");
        }
        List<Mapping> mappings = new ArrayList<>();
        for (int i = 0; i < properties.mappings().size(); i++) {
            Mapping mapping = Mapping.of("keybroker.mappings[" + i + "]", properties.mappings().get(i),
                    properties.backend(), problems);
            if (mapping != null) {
                mappings.add(mapping);
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalStateException("invalid Keybroker configuration:\n  - " + String.join("\n  - ", problems));
        }
        // Most specific first: exact names, then longer prefixes.
        mappings.sort(Comparator.comparing((Mapping m) -> !m.exact).thenComparing(m -> -m.match.value().length()));
        return new SecretLocator(environment, properties.backend(), List.copyOf(mappings));
    }

    public String environment() {
        return environment;
    }

    /** Resolves a name; always succeeds for a valid name. */
    public SecretLocation locate(SecretName name) {
        for (Mapping mapping : mappings) {
            if (mapping.exact ? mapping.match.equals(name) : name.isWithin(mapping.match)) {
                return mapping.locate(name, environment);
            }
        }
        return new SecretLocation(name,
                new BackendLocation(defaultBackend, environment + "/" + name.value(), defaultField(defaultBackend)),
                name.toPropertyName());
    }

    /**
     * No field unless a mapping names one: each backend applies its own default (Vault:
     * {@code keybroker.vault.default-field}, {@code value}; AWS and file: the value as it is).
     */
    private static String defaultField(String backend) {
        return null;
    }

    private record Mapping(boolean exact, SecretName match, String backend, String path, String field,
            String property) {

        static Mapping of(String key, MappingProperties p, String defaultBackend, List<String> problems) {
            boolean hasName = p.name() != null && !p.name().isBlank();
            boolean hasPrefix = p.prefix() != null && !p.prefix().isBlank();
            if (hasName == hasPrefix) {
                problems.add(key + ": set exactly one of name (one secret) or prefix (a subtree)");
                return null;
            }
            SecretName match;
            try {
                match = SecretName.parse(hasName ? p.name() : stripTrailingSlash(p.prefix()));
            } catch (InvalidSecretNameException ex) {
                problems.add(key + (hasName ? ".name: " : ".prefix: ") + ex.getMessage());
                return null;
            }
            String backend = p.backend() == null || p.backend().isBlank() ? defaultBackend : p.backend();
            if (!BACKENDS.contains(backend)) {
                problems.add(key + ".backend '" + SecretName.printable(backend) + "' is unknown: use file, vault or aws");
            }
            String path = p.path() == null || p.path().isBlank() ? DEFAULT_PATH : p.path();
            if (!path.startsWith("{environment}/")) {
                problems.add(key + ".path '" + SecretName.printable(path) + "' must start with '{environment}/' so "
                        + "that a broker can only read its own environment's secrets");
            }
            String unknown = path.replace("{environment}", "").replace("{name}", "").replace("{rest}", "");
            if (unknown.contains("{") || unknown.contains("}") || unknown.contains("..") || unknown.contains("//")) {
                problems.add(key + ".path '" + SecretName.printable(path) + "' may only use the placeholders "
                        + "{environment}, {name} and {rest}, and no '..' or '//'");
            }
            if (hasName && path.contains("{rest}")) {
                problems.add(key + ".path: {rest} is only meaningful for a prefix mapping");
            }
            String field = p.field() == null || p.field().isBlank() ? defaultField(backend) : p.field();
            String property = p.property();
            if (property != null && !property.isBlank()
                    && !PROPERTY.matcher(property.replace("{rest}", "x")).matches()) {
                problems.add(key + ".property '" + SecretName.printable(property) + "' is not a valid property name");
            }
            return new Mapping(hasName, match, backend, path, field,
                    property == null || property.isBlank() ? null : property);
        }

        private static String stripTrailingSlash(String prefix) {
            String p = prefix.endsWith("/**") ? prefix.substring(0, prefix.length() - 3) : prefix;
            return p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
        }

        SecretLocation locate(SecretName name, String environment) {
            String rest = exact || name.equals(match) ? "" : name.value().substring(match.value().length() + 1);
            String resolved = path.replace("{environment}", environment).replace("{name}", name.value())
                    .replace("{rest}", rest);
            if (resolved.endsWith("/")) {
                resolved = resolved.substring(0, resolved.length() - 1);
            }
            String propertyName = property == null ? name.toPropertyName()
                    : property.replace("{rest}", rest.replace('/', '.'));
            return new SecretLocation(name, new BackendLocation(backend, resolved, field), propertyName);
        }
    }
}
