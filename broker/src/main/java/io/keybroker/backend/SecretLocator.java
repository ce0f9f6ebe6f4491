package io.keybroker.backend;

import io.keybroker.config.KeybrokerProperties;
import io.keybroker.config.KeybrokerProperties.MappingProperties;
import io.keybroker.secret.InvalidSecretNameException;
import io.keybroker.secret.SecretName;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Resolves logical names to backend locations through {@code keybroker.mappings}, and otherwise through the
 * default mapping: backend {@code keybroker.backend}, path {@code <environment>/<name>}, field: the backend's default (Vault
 * {@code value}, otherwise the value as stored), property name = the name with {@code /} replaced by {@code .}.
 *
 * <p>Every path template must start with {@code {environment}/}, and names can neither contain {@code ..} nor
 * start a segment with a dot, so a broker configured for {@code staging} can only ever produce paths under
 * {@code staging/}. An exact-name mapping beats a prefix mapping; a longer prefix beats a shorter one.
 *
 * <p><b>One location, one name.</b> The policy grants names, so a backend location reachable under two names
 * would let a workload granted the second read what the policy grants only under the first (a mapping with a
 * different prefix, or the whole JSON where a mapping selects one field). {@link #locate} therefore inverts every
 * path template against the location it resolved and refuses ({@link AliasedNameException}) a name whose location
 * another name also reaches: an explicit mapping owns its locations, and the default mapping gives way to it.
 * Two explicit mappings that claim one location are a start-up error; {@link #overlaps()} lists what the start-up
 * probes find, for {@code policy check}.
 */
public final class SecretLocator {

    private static final Pattern ENVIRONMENT = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");
    private static final Pattern PROPERTY = Pattern.compile("[a-z0-9][a-zA-Z0-9._-]*");
    private static final String DEFAULT_PATH = "{environment}/{name}";
    private static final int MAX_LOCATED = 4096;
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{(environment|name|rest)}");

    private final String environment;
    private final String defaultBackend;
    private final List<Mapping> mappings;
    /** The default mapping as a rule of its own, so the alias check inverts it like any other. */
    private final Mapping fallback;
    /**
     * Names already located. The mappings never change after start, so an answer stays true; keeping it spares
     * every read the inversion of every path template (regular expressions, candidate names). Bounded, because
     * any caller can make the broker locate a name: past the bound a name is located again on each request.
     */
    private final Map<SecretName, SecretLocation> located = new ConcurrentHashMap<>();
    /**
     * Backend paths already turned back into names, kept for the same reason and with the same bound: the AWS agent
     * endpoint asks this for the {@code secretId} of every request.
     */
    private final Map<BackendPath, List<SecretName>> named = new ConcurrentHashMap<>();

    private SecretLocator(String environment, String defaultBackend, List<Mapping> mappings) {
        this.environment = environment;
        this.defaultBackend = defaultBackend;
        this.mappings = mappings.stream().map(m -> m.inverted(environment)).toList();
        this.fallback = new Mapping("the default mapping", false, null, defaultBackend, DEFAULT_PATH,
                defaultField(defaultBackend), null, null).inverted(environment);
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
        Set<String> backends = BackendKind.registered().keySet();
        if (!backends.contains(properties.backend())) {
            problems.add("keybroker.backend '" + SecretName.printable(String.valueOf(properties.backend()))
                    + "' is unknown: use one of " + String.join(", ", backends));
        }
        List<Mapping> mappings = new ArrayList<>();
        for (int i = 0; i < properties.mappings().size(); i++) {
            Mapping mapping = Mapping.of("keybroker.mappings[" + i + "]", properties.mappings().get(i),
                    properties.backend(), backends, problems);
            if (mapping != null) {
                mappings.add(mapping);
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalStateException("invalid Keybroker configuration:\n  - " + String.join("\n  - ", problems));
        }
        // Most specific first: exact names, then longer prefixes.
        mappings.sort(Comparator.comparing((Mapping m) -> !m.exact).thenComparing(m -> -m.match.value().length()));
        SecretLocator locator = new SecretLocator(environment, properties.backend(), List.copyOf(mappings));
        for (Overlap overlap : locator.overlaps()) {
            if (overlap.explicit()) {
                problems.add(overlap.describe());
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalStateException("invalid Keybroker configuration:\n  - " + String.join("\n  - ", problems));
        }
        return locator;
    }

    /**
     * Two logical names that reach one backend location.
     *
     * @param name the name probed
     * @param other the other name that resolves to the same location
     * @param location where both resolve
     * @param nameRule which mapping resolves {@code name}
     * @param otherRule which mapping resolves {@code other}
     * @param explicit true when both come from explicit mappings (a start-up error); false when the default
     *     mapping gives way (the default name is refused on every request)
     */
    public record Overlap(SecretName name, SecretName other, BackendLocation location, String nameRule,
            String otherRule, boolean explicit) {

        public String describe() {
            return explicit
                    ? nameRule + " and " + otherRule + " both reach " + location + " (" + name + " and " + other
                            + "): give them different paths or fields, so one backend location has one name"
                    : otherRule + " makes " + other + " reach " + location + ", which " + nameRule + " gives to "
                            + name + "; the broker refuses " + other + " (give the mapping a path that the default "
                            + "mapping cannot produce, e.g. '{environment}/" + name + "', to remove the overlap)";
        }
    }

    /**
     * The overlaps start-up probes find: each mapping's own name, or for a prefix the prefix and one name below
     * it, inverted against every mapping. A probe is a sample, so this is a report; {@link #locate} checks every
     * name exactly on every request.
     */
    public List<Overlap> overlaps() {
        List<Overlap> found = new ArrayList<>();
        for (Mapping mapping : mappings) {
            List<SecretName> probes = mapping.exact ? List.of(mapping.match)
                    : List.of(mapping.match, SecretName.parse(mapping.match.value() + "/probe"));
            for (SecretName probe : probes) {
                Resolved resolved = resolve(probe);
                if (resolved.rule() != mapping) {
                    continue;
                }
                for (Resolved other : aliasesOf(resolved)) {
                    Overlap overlap = new Overlap(probe, other.location().name(), resolved.location().backend(),
                            resolved.rule().key, other.rule().key, other.rule() != fallback);
                    if (found.stream().noneMatch(o -> o.explicit() && overlap.explicit()
                            && o.name().equals(overlap.other()) && o.other().equals(overlap.name()))) {
                        found.add(overlap);
                    }
                }
            }
        }
        return List.copyOf(found);
    }

    public String environment() {
        return environment;
    }

    /**
     * Resolves a name to the one location it owns.
     * @throws AliasedNameException when another logical name reaches the same location and owns it (an explicit
     *     mapping over the default one), or when two explicit mappings reach it (both are refused: fail closed)
     */
    public SecretLocation locate(SecretName name) {
        SecretLocation known = located.get(name);
        if (known != null) {
            return known;
        }
        SecretLocation location = locateOnce(name);
        if (located.size() < MAX_LOCATED) {
            located.put(name, location);
        }
        return location;
    }

    private SecretLocation locateOnce(SecretName name) {
        Resolved resolved = resolve(name);
        List<Resolved> aliases = aliasesOf(resolved);
        boolean owned = resolved.rule() != fallback && aliases.stream().allMatch(a -> a.rule() == fallback);
        if (!aliases.isEmpty() && !owned) {
            throw new AliasedNameException(name, aliases.stream().map(a -> a.location().name()).toList(),
                    resolved.location().backend());
        }
        return resolved.location();
    }

    private record Resolved(SecretLocation location, Mapping rule) {
    }

    private Resolved resolve(SecretName name) {
        for (Mapping mapping : mappings) {
            if (mapping.exact ? mapping.match.equals(name) : name.isWithin(mapping.match)) {
                return new Resolved(mapping.locate(name, environment), mapping);
            }
        }
        return new Resolved(fallback.locate(name, environment), fallback);
    }

    /**
     * The backends the mappings read from: {@code keybroker.backend} and every mapping's own, sorted.
     */
    public SortedSet<String> backendsInUse() {
        SortedSet<String> ids = new TreeSet<>();
        allRules().forEach(rule -> ids.add(rule.backend));
        return ids;
    }

    /**
     * The logical names that own a backend path, by inverting each rule's path template (the same inversion that
     * finds aliases): several when mappings select different fields of one stored value, none when no mapping
     * produces the path or the name that would is refused as an alias. Used to turn a backend's listing into
     * names without ever showing the path itself.
     */
    public List<SecretName> namesAt(String backend, String path) {
        BackendPath key = new BackendPath(backend, path);
        List<SecretName> known = named.get(key);
        if (known != null) {
            return known;
        }
        List<SecretName> names = namesAtOnce(backend, path);
        if (named.size() < MAX_LOCATED) {
            named.put(key, names);
        }
        return names;
    }

    private record BackendPath(String backend, String path) {
    }

    private List<SecretName> namesAtOnce(String backend, String path) {
        List<SecretName> names = new ArrayList<>();
        for (Mapping rule : allRules()) {
            if (!rule.backend.equals(backend)) {
                continue;
            }
            for (SecretName candidate : rule.candidates(path)) {
                Resolved resolved = resolve(candidate);
                if (resolved.rule() != rule || !resolved.location().backend().path().equals(path)
                        || names.contains(candidate)) {
                    continue;
                }
                try {
                    locate(candidate);
                    names.add(candidate);
                } catch (AliasedNameException ex) {
                    // Another name owns this location; the refused one is not a name a policy can grant.
                }
            }
        }
        return List.copyOf(names);
    }

    /** Every other name that reaches the same backend location, found by inverting each rule's path template. */
    private List<Resolved> aliasesOf(Resolved resolved) {
        BackendLocation location = resolved.location().backend();
        List<Resolved> aliases = new ArrayList<>();
        for (Mapping rule : allRules()) {
            if (!rule.backend.equals(location.backend())) {
                continue;
            }
            for (SecretName candidate : rule.candidates(location.path())) {
                if (candidate.equals(resolved.location().name())) {
                    continue;
                }
                Resolved other = resolve(candidate);
                BackendLocation there = other.location().backend();
                if (other.rule() == rule && there.backend().equals(location.backend())
                        && there.path().equals(location.path()) && fieldsOverlap(there.field(), location.field())) {
                    aliases.add(other);
                }
            }
        }
        return aliases;
    }

    private List<Mapping> allRules() {
        List<Mapping> rules = new ArrayList<>(mappings);
        rules.add(fallback);
        return rules;
    }

    /** No field means the whole stored value (or the backend's default field), which contains every field. */
    private static boolean fieldsOverlap(String a, String b) {
        return a == null || b == null || a.equals(b);
    }

    /**
     * No field unless a mapping names one: each backend applies its own default (Vault:
     * {@code keybroker.vault.default-field}, {@code value}; AWS and file: the value as it is).
     */
    private static @Nullable String defaultField(String backend) {
        return null;
    }

    /**
     * One rule from names to locations; {@code match} is null for the default mapping, which covers every name.
     * {@code inverse} matches the paths the rule can produce and captures the name or rest that produced them.
     */
    private record Mapping(String key, boolean exact, SecretName match, String backend, String path, String field,
            String property, Pattern inverse) {

        Mapping inverted(String environment) {
            StringBuilder regex = new StringBuilder();
            Matcher placeholder = PLACEHOLDER.matcher(path);
            int last = 0;
            boolean name = false;
            boolean rest = false;
            while (placeholder.find()) {
                regex.append(Pattern.quote(path.substring(last, placeholder.start())));
                switch (placeholder.group(1)) {
                    case "environment" -> regex.append(Pattern.quote(environment));
                    case "name" -> {
                        regex.append(name ? "\\k<name>" : "(?<name>.+)");
                        name = true;
                    }
                    default -> {
                        regex.append(rest ? "\\k<rest>" : "(?<rest>.*)");
                        rest = true;
                    }
                }
                last = placeholder.end();
            }
            regex.append(Pattern.quote(path.substring(last)));
            return new Mapping(key, exact, match, backend, path, field, property, Pattern.compile(regex.toString()));
        }

        /** The names this rule could have turned into {@code location} (verified by the caller). */
        List<SecretName> candidates(String location) {
            List<SecretName> names = new ArrayList<>();
            // locate() drops the trailing '/' an empty {rest} leaves, so try the path with it too.
            for (String produced : List.of(location, location + "/")) {
                Matcher m = inverse.matcher(produced);
                if (!m.matches()) {
                    continue;
                }
                String candidate;
                if (path.contains("{name}")) {
                    candidate = m.group("name");
                } else if (path.contains("{rest}")) {
                    String r = m.group("rest");
                    candidate = r.isEmpty() ? match.value() : match.value() + "/" + r;
                } else {
                    candidate = match == null ? null : match.value();
                }
                if (candidate != null && SecretName.isValid(candidate)) {
                    SecretName parsed = SecretName.parse(candidate);
                    if (!names.contains(parsed)) {
                        names.add(parsed);
                    }
                }
            }
            return names;
        }

        static @Nullable Mapping of(String key, MappingProperties p, String defaultBackend, Set<String> backends,
                List<String> problems) {
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
            if (!backends.contains(backend)) {
                problems.add(key + ".backend '" + SecretName.printable(backend) + "' is unknown: use one of "
                        + String.join(", ", backends));
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
            if (!hasName && !path.contains("{rest}") && !path.contains("{name}")) {
                problems.add(key + ".path '" + SecretName.printable(path) + "' must use {rest} or {name}: without "
                        + "one, every name under the prefix reaches the same backend location");
            }
            String field = p.field() == null || p.field().isBlank() ? defaultField(backend) : p.field();
            String property = p.property();
            if (property != null && !property.isBlank()
                    && !PROPERTY.matcher(property.replace("{rest}", "x")).matches()) {
                problems.add(key + ".property '" + SecretName.printable(property) + "' is not a valid property name");
            }
            return new Mapping(key + " (" + (hasName ? "name " : "prefix ") + match + ")", hasName, match, backend,
                    path, field, property == null || property.isBlank() ? null : property, null);
        }

        private static String stripTrailingSlash(String prefix) {
            String p = prefix.endsWith("/**") ? prefix.substring(0, prefix.length() - 3) : prefix;
            return p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
        }

        SecretLocation locate(SecretName name, String environment) {
            String rest = exact || match == null || name.equals(match) ? "" : name.value().substring(match.value().length() + 1);
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
