package io.keybroker.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.backend.SecretBackends;
import io.keybroker.backend.file.FileBackendConfiguration;
import io.keybroker.backend.file.FileSecretBackend;
import io.keybroker.config.ConfigurationProblemException;
import io.keybroker.config.CoreConfiguration;
import io.keybroker.config.KeybrokerProperties;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.IterableConfigurationPropertySource;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.core.env.PropertySource;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;
import org.springframework.core.io.ByteArrayResource;

class CacheConfigurationTests {

    @TempDir
    Path dir;

    /** The broker's shared beans (its clock and its one scheduler) and its properties. */
    @Configuration(proxyBeanMethods = false)
    @EnableConfigurationProperties(KeybrokerProperties.class)
    @Import(CoreConfiguration.class)
    static class Core {
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

    private static final String CHECKOUT = "spiffe://cluster.local/ns/payments/sa/checkout";
    private static final String REPORTING = "spiffe://cluster.local/ns/payments/sa/reporting";

    /** The variables as the process environment gives them (the source Spring binds with its env-var rules). */
    private static ApplicationContextRunner withEnvironmentVariables(ApplicationContextRunner runner,
            Map<String, Object> variables) {
        return runner.withInitializer(context -> context.getEnvironment().getPropertySources().addFirst(
                new SystemEnvironmentPropertySource(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME,
                        variables)));
    }

    @Test
    void shouldListNoWarmIdentitiesByDefaultSoEveryExactGrantIsWarmed() throws IOException {
        runner.withPropertyValues("keybroker.file.path=" + secretsFile()).run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBean(CacheProperties.class).warmIdentities()).isEmpty();
        });
    }

    @Test
    void shouldBindWarmIdentitiesFromAYamlList() throws IOException {
        String yaml = """
                keybroker:
                  cache:
                    warm-identities:
                      - %s
                      - %s
                """.formatted(CHECKOUT, REPORTING);
        PropertySource<?> source = new YamlPropertySourceLoader()
                .load("application.yaml", new ByteArrayResource(yaml.getBytes(StandardCharsets.UTF_8))).get(0);
        runner.withPropertyValues("keybroker.file.path=" + secretsFile())
                .withInitializer(context -> context.getEnvironment().getPropertySources().addFirst(source))
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context.getBean(CacheProperties.class).warmIdentities())
                            .containsExactly(CHECKOUT, REPORTING);
                });
    }

    @Test
    void shouldBindWarmIdentitiesFromTheEnvironmentVariableTheInjectorSets() throws IOException {
        withEnvironmentVariables(runner.withPropertyValues("keybroker.file.path=" + secretsFile()),
                Map.of("KEYBROKER_CACHE_WARMIDENTITIES", CHECKOUT + "," + REPORTING)).run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context.getBean(CacheProperties.class).warmIdentities())
                            .containsExactly(CHECKOUT, REPORTING);
                });
    }

    @Test
    void shouldReadOnlyTheVariableWithoutTheDashBackAsTheProperty() {
        // Spring also binds KEYBROKER_CACHE_WARM_IDENTITIES (it tries '_' for a dash), but reads that variable
        // back as keybroker.cache.warm.identities, a name that does not exist, so the unknown-property check would
        // warn it is ignored. The docs, the chart and the injector name the canonical form.
        ConfigurationPropertyName property = ConfigurationPropertyName.of("keybroker.cache.warm-identities");

        assertThat(namesOfVariable("KEYBROKER_CACHE_WARMIDENTITIES")).containsExactly(property);
        assertThat(namesOfVariable("KEYBROKER_CACHE_WARM_IDENTITIES")).doesNotContain(property);
    }

    private static List<ConfigurationPropertyName> namesOfVariable(String variable) {
        ConfigurationPropertySource source = ConfigurationPropertySource.from(new SystemEnvironmentPropertySource(
                StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, Map.of(variable, CHECKOUT)));
        return ((IterableConfigurationPropertySource) source).stream().toList();
    }

    @Test
    void shouldStopStartUpOnAWarmIdentityThatIsNotASpiffeIdSayingWhatToWrite() throws IOException {
        runner.withPropertyValues("keybroker.file.path=" + secretsFile(),
                        "keybroker.cache.warm-identities=" + CHECKOUT + ",checkout,spiffe://cluster.local")
                .run(context -> assertThat(context).getFailure().rootCause()
                        .isInstanceOf(ConfigurationProblemException.class)
                        .hasMessageContaining("keybroker.cache.warm-identities[1] is 'checkout', which is not a "
                                + "SPIFFE ID; write the SPIFFE ID of a workload this broker serves, e.g. "
                                + "spiffe://cluster.local/ns/payments/sa/checkout")
                        .hasMessageContaining("keybroker.cache.warm-identities[2]: identity 'spiffe://cluster.local' "
                                + "names a trust domain, not a workload")
                        .satisfies(ex -> assertThat(((ConfigurationProblemException) ex).problems()).hasSize(2)));
    }
}
