package io.keybroker.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.RunningBroker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import org.junit.jupiter.api.Test;
import org.springframework.scheduling.concurrent.ThreadPoolTaskScheduler;

/**
 * The broker's periodic work (policy, TLS and secrets-file reloads, certificate and audit-volume checks, the cache's
 * tick, alert webhook delivery) runs on the one scheduler of {@link CoreConfiguration}, and closing the context ends
 * it: no task keeps a thread of its own.
 */
class SharedSchedulerIntegrationTests {

    /** The threads each task used to start for itself. */
    private static final Set<String> OLD_THREADS = Set.of("keybroker-policy-watcher", "keybroker-tls-reload",
            "keybroker-alert-checks", "keybroker-alert-webhook");

    @Test
    void shouldRunThePeriodicTasksOnOneSchedulerAndEndItWithTheContext() throws Exception {
        BrokerFixture fixture = BrokerFixture.create();
        Map<String, String> properties = fixture.properties();
        // An alert webhook, so its delivery is wired too; nothing listens there and nothing is sent.
        Path secret = Files.writeString(fixture.dir().resolve("webhook-secret"), "whsec_test_scheduler");
        properties.put("keybroker.alerts.webhook.url", "http://127.0.0.1:9/alerts");
        properties.put("keybroker.alerts.webhook.secret-file", secret.toString());
        ScheduledThreadPoolExecutor pool;
        try (RunningBroker broker = RunningBroker.start(properties)) {
            pool = broker.bean(ThreadPoolTaskScheduler.class).getScheduledThreadPoolExecutor();
            // Policy polls, TLS reloads, certificate checks and audit-volume checks wait in its queue.
            await().atMost(Duration.ofSeconds(10)).until(() -> pool.getCompletedTaskCount() > 0);
            assertThat(pool.getQueue()).hasSizeGreaterThanOrEqualTo(4);
            assertThat(Thread.getAllStackTraces().keySet()).extracting(Thread::getName)
                    .doesNotContainAnyElementsOf(OLD_THREADS)
                    .noneMatch(name -> name.startsWith("keybroker-cache"))
                    .noneMatch(name -> name.startsWith("keybroker-file-backend"));
        }
        await().atMost(Duration.ofSeconds(10)).until(pool::isTerminated);
    }
}
