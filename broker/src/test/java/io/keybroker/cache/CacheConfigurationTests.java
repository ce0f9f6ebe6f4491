package io.keybroker.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.backend.SecretBackends;
import io.keybroker.backend.file.FileBackendConfiguration;
import io.keybroker.backend.file.FileSecretBackend;
import io.keybroker.config.ConfigurationProblemException;
import io.keybroker.config.KeybrokerProperties;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.scheduling.concurrent.ThreadPoolTaskScheduler;

class CacheConfigurationTests {

    @TempDir
    Path dir;

    @Configuration(proxyBeanMethods = false)
    @EnableConfigurationProperties(KeybrokerProperties.class)
    static class Core {
        @Bean
        Clock clock() {
            return Clock.systemUTC();
        }

        @Bean
        ThreadPoolTaskScheduler keybrokerScheduler() {
            ThreadPoolTaskScheduler scheduler = new ThreadPoolTaskScheduler();
            scheduler.setDaemon(true);
            return scheduler;
        }
    }

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withUserConfiguration(Core.class, FileBackendConfiguration.class, CacheConfiguration.class);

    private String secretsFile() throws IOException {
        Path file = dir.resolve("secrets.yaml");
        Files.writeString(file, """
                secrets:
                  prod/stripe/secret-key:
                    - version: "1"
                      value: sk_test_config
                      createdAt: 2026-11-20T10:00:00Z
                """);
        return file.toString();
    }

    @Test
    void shouldWireTheFileBackendAndStartAndStopTheCacheWithTheContext() throws IOException {
        EncryptedSecretCache[] seen = new EncryptedSecretCache[1];
        runner.withPropertyValues("keybroker.file.path=" + secretsFile()).run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBean(SecretBackends.class).ids()).containsExactly("file");
            assertThat(context.getBean(SecretBackends.class).get("file")).isInstanceOf(FileSecretBackend.class);
            assertThat(context).hasSingleBean(SecretCache.class).hasSingleBean(SecretCipher.class);
            seen[0] = context.getBean(EncryptedSecretCache.class);
            assertThat(seen[0].isRunning()).isTrue();
            assertThat(context.getBean(FileSecretBackend.class).isRunning()).isTrue();
        });
        assertThat(seen[0].isRunning()).isFalse();
    }

    @Test
    void shouldStopStartUpNamingKeybrokerFilePathWhenItIsMissing() {
        runner.run(context -> assertThat(context).getFailure().rootCause()
                .isInstanceOf(ConfigurationProblemException.class)
                .hasMessageContaining("keybroker.file.path is not set"));
    }

    @Test
    void shouldNotBuildTheFileBackendWhenNoMappingUsesIt() {
        new ApplicationContextRunner().withUserConfiguration(Core.class, FileBackendConfiguration.class)
                .withPropertyValues("keybroker.backend=vault")
                .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(FileSecretBackend.class));
    }

    @Test
    void shouldStopStartUpWhenTheDefaultBackendIsNotConfigured() {
        runner.withPropertyValues("keybroker.backend=vault")
                .run(context -> assertThat(context).getFailure().rootCause()
                        .isInstanceOf(ConfigurationProblemException.class)
                        .hasMessageContaining("keybroker.backend is 'vault' but no such backend is configured "
                                + "(configured: none)"));
    }

    @Test
    void shouldNameTheMappingThatNamesAnUnconfiguredBackend() throws IOException {
        runner.withPropertyValues("keybroker.file.path=" + secretsFile(), "keybroker.mappings[0].prefix=stripe",
                        "keybroker.mappings[0].backend=aws")
                .run(context -> assertThat(context).getFailure().rootCause()
                        .hasMessageContaining("keybroker.mappings[0].backend is 'aws'"));
    }

    @Test
    void shouldRefuseUnusableCacheSettingsNamingEachProperty() throws IOException {
        runner.withPropertyValues("keybroker.file.path=" + secretsFile(), "keybroker.cache.ttl=0s",
                        "keybroker.cache.max-size=0", "keybroker.rotation.jitter=1.5")
                .run(context -> assertThat(context).getFailure().rootCause()
                        .isInstanceOf(ConfigurationProblemException.class)
                        .hasMessageContaining("keybroker.cache.ttl")
                        .hasMessageContaining("keybroker.cache.max-size")
                        .hasMessageContaining("keybroker.rotation.jitter"));
    }
}
