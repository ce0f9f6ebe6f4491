package io.keybroker.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Every {@code keybroker.*} name that docs/, helm/ and README.md mention exists in the configuration metadata of
 * the built broker module, so no example tells a user to set a property that makes the broker refuse to start.
 */
class DocumentedPropertyNamesTests {

    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    private static final Path METADATA = Path.of("target/classes/META-INF/spring-configuration-metadata.json");

    /** keybroker.a.b-c, keybroker.mappings[0].field; not io.keybroker.x (a Java package) nor a/keybroker.x. */
    private static final Pattern MENTION =
            Pattern.compile("(?<![\\w./])keybroker\\.[a-z][a-zA-Z0-9-]*(?:(?:\\.[a-z][a-zA-Z0-9-]*)|\\[[0-9]*])*");
    private static final Pattern HELM_DEFINE = Pattern.compile("define \"(keybroker\\.[a-zA-Z0-9.]+)\"");

    /** Names that are mentioned but are not properties, each with the reason. */
    private static final Map<String, String> NOT_PROPERTIES = Map.ofEntries(
            Map.entry("keybroker.io", "the annotation domain keybroker.io/inject"),
            Map.entry("keybroker.jar", "the jar's file name"),
            Map.entry("keybroker.aot", "a file name (the AOT cache)"),
            Map.entry("keybroker.json", "a file name (the Grafana dashboard)"),
            Map.entry("keybroker.alerts", "the alert logger's name (also the group of the alert properties)"),
            Map.entry("keybroker.cache.rotations", "a Micrometer meter name"),
            Map.entry("keybroker.cache.tll", "the typo the docs show the unknown-property check catching"),
            Map.entry("keybroker.x", "a placeholder (--keybroker.x=y)"),
            Map.entry("keybroker.image.digest", "a values path under a workload chart's keybroker: block"),
            Map.entry("keybroker.namespaceResources", "a values path under a workload chart's keybroker: block"),
            Map.entry("keybroker.sidecar.extraArg", "a values typo the chart test expects to be rejected"));

    @Test
    void shouldFindEveryMentionedKeybrokerNameInTheConfigurationMetadata() throws IOException {
        Map<String, String> types = new HashMap<>();
        JsonNode root = JsonMapper.builder().build().readTree(METADATA.toFile());
        for (JsonNode property : root.path("properties")) {
            types.put(property.path("name").asString(), property.path("type").asString(""));
        }
        assertThat(types).as("metadata of the built module " + METADATA.toAbsolutePath()).isNotEmpty();

        Set<String> helmTemplates = new TreeSet<>();
        List<Path> files = new ArrayList<>(List.of(REPO.resolve("README.md")));
        for (Path dir : List.of(REPO.resolve("docs"), REPO.resolve("helm"))) {
            try (Stream<Path> walk = Files.walk(dir)) {
                walk.filter(Files::isRegularFile).filter(p -> p.toString().matches(".*\\.(md|ya?ml|json|tpl|txt|sh|py)$"))
                        .forEach(files::add);
            }
        }
        for (Path file : files) {
            Matcher define = HELM_DEFINE.matcher(Files.readString(file));
            while (define.find()) {
                helmTemplates.add(define.group(1));
            }
        }

        List<String> unknown = new ArrayList<>();
        int mentions = 0;
        for (Path file : files) {
            List<String> lines = Files.readAllLines(file);
            for (int i = 0; i < lines.size(); i++) {
                Matcher m = MENTION.matcher(lines.get(i));
                while (m.find()) {
                    String name = m.group().replaceAll("[.-]+$", "");
                    mentions++;
                    if (!helmTemplates.contains(name) && !NOT_PROPERTIES.containsKey(name)
                            && !exists(name, types)) {
                        unknown.add(REPO.relativize(file) + ":" + (i + 1) + ": " + name);
                    }
                }
            }
        }
        assertThat(mentions).isGreaterThan(50);
        assertThat(unknown).as("keybroker.* names mentioned in docs/, helm/ or README.md that the broker does not "
                + "have (fix the name, or list a non-property mention in NOT_PROPERTIES with its reason)").isEmpty();
    }

    /** A property, a group of properties, or an entry of a map or list property (keybroker.mappings[0].field). */
    private static boolean exists(String name, Map<String, String> types) {
        if (types.containsKey(name)) {
            return true;
        }
        for (Map.Entry<String, String> known : types.entrySet()) {
            String k = known.getKey();
            if (k.startsWith(name + ".")) {
                return true;
            }
            boolean container = known.getValue().contains("Map<") || known.getValue().contains("List<");
            if (container && (name.startsWith(k + ".") || name.startsWith(k + "["))) {
                return true;
            }
        }
        return false;
    }
}
