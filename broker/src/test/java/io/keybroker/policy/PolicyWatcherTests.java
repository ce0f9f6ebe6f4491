package io.keybroker.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keybroker.identity.WorkloadIdentity;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;
import io.keybroker.testsupport.PolicyFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.scheduling.concurrent.ThreadPoolTaskScheduler;

class PolicyWatcherTests {

    private static final WorkloadIdentity CHECKOUT =
            WorkloadIdentity.spiffe("spiffe://cluster.local/ns/payments/sa/checkout");
    private static final SecretName SECRET_KEY = SecretName.parse("stripe/secret-key");
    private static final SecretName WEBHOOK = SecretName.parse("stripe/webhook-secret");

    @TempDir
    Path dir;

    private final PolicyLoader loader = new PolicyLoader();
    private final RecordingListener listener = new RecordingListener();
    private final ThreadPoolTaskScheduler scheduler = new ThreadPoolTaskScheduler();
    private PolicyWatcher watcher;

    PolicyWatcherTests() {
        // As the broker's keybrokerScheduler: a cancelled task leaves the queue at once.
        scheduler.setRemoveOnCancelPolicy(true);
        scheduler.initialize();
    }

    @AfterEach
    void stop() {
        if (watcher != null) {
            watcher.stop();
        }
        scheduler.shutdown();
    }

    private static String policy(String secret) {
        return PolicyFixtures.PAYMENTS.replace("stripe/webhook-secret", secret);
    }

    private PolicyStore startWatching(Path policyDir, PolicyReloadListener... listeners) {
        PolicyStore store = new PolicyStore(loader.load(policyDir));
        watcher = new PolicyWatcher(policyDir, Duration.ofMillis(50), loader, store, () -> List.of(listeners),
                scheduler);
        watcher.start();
        assertThat(watcher.isRunning()).isTrue();
        return store;
    }

    /** Writes like a careful deployment tool: to a hidden temporary file, then renamed into place in one step. */
    private static void write(Path file, String content) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.writeString(tmp, content);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static boolean allowed(PolicyStore store, SecretName name) {
        return store.current().decide(CHECKOUT, name, Stage.CURRENT).allowed();
    }

    @Test
    void shouldApplyANewFileWithoutRestart() throws IOException {
        Files.writeString(dir.resolve("payments.yaml"), policy("stripe/other"));
        PolicyStore store = startWatching(dir, listener);
        assertThat(allowed(store, WEBHOOK)).isFalse();

        write(dir.resolve("webhooks.yaml"), """
                apiVersion: keybroker/v1
                kind: Policy
                metadata:
                  name: webhooks
                spec:
                  workloads:
                    - identity: spiffe://cluster.local/ns/payments/*
                      application: payments
                      allow:
                        - secrets: [stripe/webhook-secret]
                          stages: [current]
                """);

        // The store is swapped before listeners hear of it: wait for the listener, then look at the store.
        await().atMost(Duration.ofSeconds(5)).until(() -> !listener.reloaded.isEmpty());
        assertThat(allowed(store, WEBHOOK)).isTrue();
        assertThat(store.current().files()).containsExactly("payments.yaml", "webhooks.yaml");
        assertThat(listener.reloaded).singleElement().isSameAs(store.current());
        assertThat(listener.failures).isEmpty();
    }

    @Test
    void shouldKeepTheLastGoodPolicyWhenAFileBreaksAndTellListeners() throws IOException {
        Path file = dir.resolve("payments.yaml");
        Files.writeString(file, policy("stripe/webhook-secret"));
        RecordingListener second = new RecordingListener();
        PolicyReloadListener failing = new PolicyReloadListener() {
            @Override
            public void reloaded(PolicySet set) {
                throw new IllegalStateException("listener bug");
            }

            @Override
            public void reloadFailed(List<String> errors) {
                throw new IllegalStateException("listener bug");
            }
        };
        PolicyStore store = startWatching(dir, failing, listener, second);
        PolicySet good = store.current();

        // Revoke the webhook secret, but with a typo elsewhere: nothing of the change may take effect.
        write(file, policy("stripe/other").replace("stages: [current]\n", "stages: [curent]\n"));

        await().atMost(Duration.ofSeconds(5)).until(() -> !listener.failures.isEmpty());
        assertThat(store.current()).isSameAs(good);
        assertThat(allowed(store, WEBHOOK)).isTrue();
        assertThat(listener.failures).singleElement().asList().containsExactly(
                "payments.yaml:14: spec.workloads[0].allow[1].stages[0]: unknown stage 'curent'; expected 'current' "
                        + "or 'previous'");
        assertThat(second.failures).hasSize(1);

        // The same broken content is reported once; the fix is applied.
        write(file, policy("stripe/other"));
        await().atMost(Duration.ofSeconds(5)).until(() -> second.reloaded.size() == 1);
        assertThat(allowed(store, WEBHOOK)).isFalse();
        assertThat(listener.failures).hasSize(1);
        assertThat(listener.reloaded).hasSize(1);
    }

    @Test
    void shouldKeepTheLastGoodPolicyWhenTheDirectoryDisappears() throws IOException {
        Path sub = Files.createDirectory(dir.resolve("policy"));
        Path file = sub.resolve("payments.yaml");
        Files.writeString(file, policy("stripe/webhook-secret"));
        PolicyStore store = startWatching(sub, listener);
        Files.delete(file);
        Files.delete(sub);
        await().atMost(Duration.ofSeconds(5)).until(() -> !listener.failures.isEmpty());
        assertThat(listener.failures.get(0)).singleElement().asString().contains(sub + " does not exist");
        assertThat(allowed(store, SECRET_KEY)).isTrue();
    }

    @Test
    void shouldSeeAKubernetesConfigMapSymlinkSwap() throws IOException {
        // The layout kubelet writes: a timestamped directory, a ..data link to it, and a link per file.
        Path first = Files.createDirectory(dir.resolve("..2026_11_22_10_00_00.000000001"));
        Files.writeString(first.resolve("payments.yaml"), policy("stripe/other"));
        Files.createSymbolicLink(dir.resolve("..data"), first.getFileName());
        Files.createSymbolicLink(dir.resolve("payments.yaml"), Path.of("..data", "payments.yaml"));
        PolicyStore store = startWatching(dir, listener);
        assertThat(allowed(store, WEBHOOK)).isFalse();

        // Update: write the new generation, point a new link at it, rename it over ..data in one step.
        Path second = Files.createDirectory(dir.resolve("..2026_11_22_10_05_00.000000002"));
        Files.writeString(second.resolve("payments.yaml"), policy("stripe/webhook-secret"));
        Path newLink = Files.createSymbolicLink(dir.resolve("..data_tmp"), second.getFileName());
        Files.move(newLink, dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        // kubelet removes the old generation afterwards.
        Files.delete(first.resolve("payments.yaml"));
        Files.delete(first);

        await().atMost(Duration.ofSeconds(5)).until(() -> allowed(store, WEBHOOK));
        assertThat(store.current().files()).containsExactly("payments.yaml");
        assertThat(listener.failures).isEmpty();
    }

    @Test
    void shouldApplyAChangeOnlyWhenTwoReadsAgree() throws IOException {
        Path file = dir.resolve("payments.yaml");
        Files.writeString(file, policy("stripe/webhook-secret"));
        PolicyStore store = new PolicyStore(loader.load(dir));
        PolicyWatcher manual = new PolicyWatcher(dir, Duration.ofSeconds(1), loader, store, () -> List.of(listener),
                scheduler);
        assertThat(manual.poll()).isFalse();

        // A writer caught half-way: the first read sees a truncated file, the next one the finished file.
        Files.writeString(file, "apiVersion: keybroker/v1\nkind: Pol");
        assertThat(manual.poll()).isFalse();
        Files.writeString(file, policy("stripe/other"));
        assertThat(manual.poll()).isFalse();
        assertThat(allowed(store, WEBHOOK)).isTrue();
        assertThat(manual.poll()).isTrue();
        assertThat(allowed(store, WEBHOOK)).isFalse();
        assertThat(manual.poll()).isFalse();
        assertThat(listener.reloaded).hasSize(1);
        assertThat(listener.failures).isEmpty();
    }

    @Test
    void shouldStopPolling() throws Exception {
        Files.writeString(dir.resolve("payments.yaml"), policy("stripe/webhook-secret"));
        PolicyStore store = startWatching(dir, listener);
        watcher.stop();
        assertThat(watcher.isRunning()).isFalse();
        // The scheduler runs on, for the broker's other tasks; this watcher's polls are gone from it, so no later
        // change can be picked up.
        assertThat(scheduler.getScheduledThreadPoolExecutor().isShutdown()).isFalse();
        assertThat(scheduler.getScheduledThreadPoolExecutor().getQueue()).as("tasks left on the scheduler").isEmpty();
        write(dir.resolve("payments.yaml"), policy("stripe/other"));
        assertThat(allowed(store, WEBHOOK)).isTrue();
        assertThat(listener.reloaded).isEmpty();
    }

    private static final class RecordingListener implements PolicyReloadListener {

        final List<PolicySet> reloaded = new CopyOnWriteArrayList<>();
        final List<List<String>> failures = new CopyOnWriteArrayList<>();

        @Override
        public void reloaded(PolicySet set) {
            reloaded.add(set);
        }

        @Override
        public void reloadFailed(List<String> errors) {
            failures.add(errors);
        }
    }
}
