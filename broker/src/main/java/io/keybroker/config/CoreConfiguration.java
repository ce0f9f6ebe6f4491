package io.keybroker.config;

import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.scheduling.concurrent.ThreadPoolTaskScheduler;

/** Beans every feature shares. */
@Configuration(proxyBeanMethods = false)
public class CoreConfiguration {

    private static final Logger log = LoggerFactory.getLogger(CoreConfiguration.class);

    /** The one clock of the broker; tests replace it to move time without sleeping. */
    @Bean
    Clock clock() {
        return Clock.systemUTC();
    }

    /** Runs first among the broker's beans: a typo in a keybroker.* property stops start-up. */
    @Bean
    static UnknownPropertyCheck unknownPropertyCheck(org.springframework.core.env.ConfigurableEnvironment environment) {
        UnknownPropertyCheck check = UnknownPropertyCheck.fromMetadata();
        check.check(environment);
        return check;
    }

    /**
     * The one scheduler of the broker's periodic work: policy and TLS reloads, certificate and audit-volume checks,
     * and the cache's background tick (with the time limits of its backend calls).
     * One pool gives every such task the same thread naming, daemon rule, error handling and shutdown: Spring
     * stops the components (which cancel their tasks) and then destroys this pool with the context. The tasks are
     * short file reads and checks, so two threads keep a slow one from delaying the others. Being an
     * {@code Executor}, it also makes Spring Boot skip its own {@code applicationTaskExecutor}, which nothing in the
     * broker uses (no {@code @Async}, no blocking WebFlux handlers).
     */
    @Bean
    ThreadPoolTaskScheduler keybrokerScheduler() {
        ThreadPoolTaskScheduler scheduler = new ThreadPoolTaskScheduler();
        scheduler.setPoolSize(2);
        scheduler.setThreadNamePrefix("keybroker-scheduler-");
        // Never what keeps the JVM alive: the server's own threads do that, and the commands use no scheduler.
        scheduler.setDaemon(true);
        // The cache schedules a time limit per backend call and cancels it when the call answers; without this a
        // cancelled limit would stay queued (holding its call) until its 60 s are up.
        scheduler.setRemoveOnCancelPolicy(true);
        // A policy poll in progress finishes on shutdown: interrupting it could fail a file read and report a
        // reload failure that never happened.
        scheduler.setWaitForTasksToCompleteOnShutdown(true);
        scheduler.setAwaitTerminationSeconds(5);
        // A periodic task that throws keeps its schedule; say so instead of losing the failure.
        scheduler.setErrorHandler(ex -> log.error("A scheduled task of the broker failed; it runs again at its next "
                + "time", ex));
        return scheduler;
    }
}
