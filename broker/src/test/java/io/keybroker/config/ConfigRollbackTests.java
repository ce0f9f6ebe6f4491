package io.keybroker.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.RunningBroker;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;

/**
 * A rollback of the sidecar image against a namespace ConfigMap written for a newer broker starts (warning about
 * the names it does not know) instead of crash-looping every pod; typos are still refused.
 */
class ConfigRollbackTests {

    @TempDir
    Path dir;

    /** The chart's ConfigMap as a newer chart writes it: a property this broker does not have. */
    private static MapPropertySource newerConfigMap(String writtenFor) {
        Map<String, Object> properties = new LinkedHashMap<>();
        properties.put("keybroker.config.written-for", writtenFor);
        properties.put("keybroker.cache.ttl", "5m");
        properties.put("keybroker.cache.prefetch-on-start", "true");
        return new MapPropertySource("Config resource 'file [/etc/keybroker/config/application.yaml]'", properties);
    }

    private static StandardEnvironment environment(MapPropertySource... sources) {
        StandardEnvironment environment = new StandardEnvironment();
        for (MapPropertySource source : sources) {
            environment.getPropertySources().addFirst(source);
        }
        return environment;
    }

    @Test
    void shouldStartWithAConfigWrittenForANewerBroker() {
        UnknownPropertyCheck check = UnknownPropertyCheck.fromMetadata("0.2.0");
        assertThatCode(() -> check.check(environment(newerConfigMap("0.3.0")))).doesNotThrowAnyException();
        assertThatCode(() -> UnknownPropertyCheck.fromMetadata("0.2.0-SNAPSHOT")
                .check(environment(newerConfigMap("0.2.1")))).doesNotThrowAnyException();
    }

    @Test
    void shouldStillRefuseUnknownNamesInAConfigWrittenForThisOrAnOlderBroker() {
        for (String writtenFor : new String[] {"0.2.0", "0.1.9"}) {
            assertThatThrownBy(() -> UnknownPropertyCheck.fromMetadata("0.2.0-SNAPSHOT")
                    .check(environment(newerConfigMap(writtenFor))))
                    .isInstanceOf(ConfigurationProblemException.class)
                    .hasMessageContaining("unknown property keybroker.cache.prefetch-on-start");
        }
        // A source that says nothing about its version is strict, and so is a broker that does not know its own.
        Map<String, Object> unversioned = new LinkedHashMap<>(newerConfigMap("0.3.0").getSource());
        unversioned.remove("keybroker.config.written-for");
        assertThatThrownBy(() -> UnknownPropertyCheck.fromMetadata("0.2.0")
                .check(environment(new MapPropertySource("args", unversioned))))
                .isInstanceOf(ConfigurationProblemException.class);
        assertThatThrownBy(() -> UnknownPropertyCheck.fromMetadata(null).check(environment(newerConfigMap("0.3.0"))))
                .isInstanceOf(ConfigurationProblemException.class);
    }

    @Test
    void shouldStillRefuseATypoOnTheCommandLineBesideANewerConfig() {
        MapPropertySource commandLine = new MapPropertySource("commandLineArgs", Map.of("keybroker.cache.tll", "1m"));
        assertThatThrownBy(() -> UnknownPropertyCheck.fromMetadata("0.2.0")
                .check(environment(newerConfigMap("0.3.0"), commandLine)))
                .isInstanceOf(ConfigurationProblemException.class)
                .hasMessageContaining("unknown property keybroker.cache.tll")
                .hasMessageNotContaining("prefetch-on-start");
    }

    @Test
    void shouldCompareReleaseNumbersOnly() {
        assertThat(Versions.compare("0.3.0", "0.2.0-SNAPSHOT")).isPositive();
        assertThat(Versions.compare("0.2.0", "0.2.0-SNAPSHOT")).isZero();
        assertThat(Versions.compare("v0.10.0", "0.9.9")).isPositive();
        assertThat(Versions.compare("1", "1.0.1")).isNegative();
    }

    /** The whole broker, with the config file the way the chart mounts it, a newer version's name in it. */
    @Test
    void shouldBindTheDeclaredVersionInARunningBroker() throws IOException {
        Path config = dir.resolve("config");
        Files.createDirectories(config);
        Files.writeString(config.resolve("application.yaml"), """
                keybroker.config.written-for: "0.1.0"
                keybroker.cache.ttl: "5m"
                """);
        BrokerFixture fixture = BrokerFixture.create();
        Map<String, String> properties = fixture.properties();
        properties.put("spring.config.additional-location", "optional:file:" + config + "/");
        try (RunningBroker broker = RunningBroker.start(properties)) {
            assertThat(broker.port()).isPositive();
        }
    }
}
