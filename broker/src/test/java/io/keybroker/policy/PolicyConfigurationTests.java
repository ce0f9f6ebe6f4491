package io.keybroker.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keybroker.config.ConfigurationProblemException;
import io.keybroker.config.CoreConfiguration;
import io.keybroker.testsupport.PolicyFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;

class PolicyConfigurationTests {

    @TempDir
    Path dir;

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withUserConfiguration(Properties.class, PolicyConfiguration.class);

    /** The policy's properties and the broker's shared beans, whose scheduler runs the watcher's polls. */
    @Configuration(proxyBeanMethods = false)
    @EnableConfigurationProperties(PolicyProperties.class)
    @Import(CoreConfiguration.class)
    static class Properties {
    }

    @Configuration(proxyBeanMethods = false)
    static class Listener {

        @Bean
        Recording recording() {
            return new Recording();
        }
    }

    static final class Recording implements PolicyReloadListener {

        final List<PolicySet> reloaded = new CopyOnWriteArrayList<>();

        @Override
        public void reloaded(PolicySet set) {
            reloaded.add(set);
        }

        @Override
        public void reloadFailed(List<String> errors) {
        }
    }

    @Test
    void shouldRefuseToStartWithoutAPolicyDirectory() {
        runner.run(context -> assertThat(context.getStartupFailure()).rootCause()
                .isInstanceOf(ConfigurationProblemException.class)
                .extracting(ex -> ((ConfigurationProblemException) ex).problems(), InstanceOfAssertFactories.LIST)
                .singleElement().asString().startsWith("keybroker.policy.dir is not set: set it to the directory of "
                        + "policy YAML files"));
    }

    @Test
    void shouldRefuseToStartWhenThePolicyDirectoryDoesNotExist() {
        Path missing = dir.resolve("missing");
        runner.withPropertyValues("keybroker.policy.dir=" + missing).run(context ->
                assertThat(context.getStartupFailure()).rootCause().isInstanceOf(ConfigurationProblemException.class)
                        .hasMessageContaining("keybroker.policy.dir=" + missing + ": " + missing + " does not exist"));
    }

    @Test
    void shouldRefuseToStartWithAnInvalidPolicyListingEveryProblem() throws IOException {
        Files.writeString(dir.resolve("payments.yaml"), PolicyFixtures.PAYMENTS.replace("100/s", "lots")
                .replace("[current]", "[now]"));
        runner.withPropertyValues("keybroker.policy.dir=" + dir).run(context ->
                assertThat(context.getStartupFailure()).rootCause().isInstanceOf(ConfigurationProblemException.class)
                        .extracting(ex -> ((ConfigurationProblemException) ex).problems(),
                                InstanceOfAssertFactories.LIST)
                        .containsExactly(
                                "keybroker.policy.dir=" + dir + ": payments.yaml:9: spec.workloads[0].rateLimit: rate "
                                        + "limit 'lots' is invalid; write COUNT/UNIT with COUNT a whole number from 1 "
                                        + "to 1000000000 and UNIT s, m or h, e.g. 100/s or 6000/m (leave rateLimit out "
                                        + "for no limit)",
                                "keybroker.policy.dir=" + dir + ": payments.yaml:14: spec.workloads[0].allow[1]"
                                        + ".stages[0]: unknown stage 'now'; expected 'current' or 'previous'"));
    }

    @Test
    void shouldStartWithAnEmptyDirectoryAndDenyEverything() {
        runner.withPropertyValues("keybroker.policy.dir=" + dir).run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBean(PolicyStore.class).current().grants()).isEmpty();
        });
    }

    @Test
    void shouldWatchTheDirectoryAndCallEveryListenerBean() throws IOException {
        Files.writeString(dir.resolve("payments.yaml"), PolicyFixtures.PAYMENTS);
        runner.withUserConfiguration(Listener.class)
                .withPropertyValues("keybroker.policy.dir=" + dir, "keybroker.policy.reload-interval=100ms")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context.getBean(PolicyWatcher.class).isRunning()).isTrue();
                    assertThat(context).hasSingleBean(RateLimiter.class);
                    PolicyStore store = context.getBean(PolicyStore.class);
                    assertThat(store.current().grants()).hasSize(3);

                    Files.writeString(dir.resolve("payments.yaml"),
                            PolicyFixtures.PAYMENTS.replace("[current, previous]", "[current]"));

                    Recording recording = context.getBean(Recording.class);
                    await().atMost(Duration.ofSeconds(5)).until(() -> !recording.reloaded.isEmpty());
                    assertThat(store.current().grants()).hasSize(2);
                    assertThat(recording.reloaded).singleElement().isSameAs(store.current());
                });
    }

    @Test
    void shouldRefuseANonPositiveReloadInterval() {
        runner.withPropertyValues("keybroker.policy.dir=" + dir, "keybroker.policy.reload-interval=0s").run(context ->
                assertThat(context.getStartupFailure()).rootCause().isInstanceOf(ConfigurationProblemException.class)
                        .hasMessageContaining("keybroker.policy.reload-interval must be a positive duration"));
    }
}
