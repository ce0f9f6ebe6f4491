package io.keybroker.testsupport;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A secrets file of the file backend, built in a test instead of written out as YAML again each time:
 *
 * <pre>{@code
 * fixture.writeSecrets(SecretsYaml.fixtureDefaults(now).version("test/stripe/secret-key", "8", value, now));
 * }</pre>
 *
 * Values are quoted as YAML single-quoted scalars, so JSON and other text survive as written.
 */
public final class SecretsYaml {

    private record Version(String version, String value, Instant createdAt) {
    }

    private final Map<String, List<Version>> paths = new LinkedHashMap<>();

    /** An empty file. */
    public static SecretsYaml empty() {
        return new SecretsYaml();
    }

    /**
     * What {@link BrokerFixture} starts with: stripe/secret-key at versions 6 ({@link BrokerFixture#PREVIOUS_VALUE},
     * 90 days old) and 7 ({@link BrokerFixture#CURRENT_VALUE}, a day old), and stripe/webhook-secret at version 1
     * ({@link BrokerFixture#WEBHOOK_VALUE}, 30 days old), under the environment {@code test}.
     */
    public static SecretsYaml fixtureDefaults(Instant now) {
        return empty()
                .version("test/stripe/secret-key", "6", BrokerFixture.PREVIOUS_VALUE, now.minusSeconds(90 * 86_400L))
                .version("test/stripe/secret-key", "7", BrokerFixture.CURRENT_VALUE, now.minusSeconds(86_400L))
                .version("test/stripe/webhook-secret", "1", BrokerFixture.WEBHOOK_VALUE,
                        now.minusSeconds(30 * 86_400L));
    }

    /** Adds a version to {@code path} (the backend path, environment included), after those it has. */
    public SecretsYaml version(String path, String version, String value, Instant createdAt) {
        paths.computeIfAbsent(path, p -> new ArrayList<>()).add(new Version(version, value, createdAt));
        return this;
    }

    /** The file's text. */
    public String yaml() {
        StringBuilder out = new StringBuilder("secrets:\n");
        paths.forEach((path, versions) -> {
            out.append("  ").append(path).append(":\n");
            for (Version v : versions) {
                out.append("    - version: \"").append(v.version()).append("\"\n")
                        .append("      value: '").append(v.value().replace("'", "''")).append("'\n")
                        .append("      createdAt: ").append(v.createdAt()).append('\n');
            }
        });
        return out.toString();
    }

    @Override
    public String toString() {
        return yaml();
    }
}
