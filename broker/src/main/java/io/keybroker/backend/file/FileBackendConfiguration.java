package io.keybroker.backend.file;

import io.keybroker.config.ConditionalOnBackend;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.scheduling.concurrent.ThreadPoolTaskScheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Wires the file backend when {@code keybroker.backend} or a mapping names {@code file}. A missing
 * {@code keybroker.file.path} stops start-up; a path whose file does not exist yet does not (readiness reports
 * it, and the file is picked up when it appears).
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnBackend(FileSecretBackend.ID)
@EnableConfigurationProperties(FileBackendProperties.class)
public class FileBackendConfiguration {

    /** The periodic check of the file runs on the broker's one scheduler, which the context stops. */
    @Bean
    FileSecretBackend fileSecretBackend(FileBackendProperties properties, ThreadPoolTaskScheduler keybrokerScheduler) {
        return FileBackendKind.create(properties,
                Schedulers.fromExecutorService(keybrokerScheduler.getScheduledExecutor(), "keybroker-file-backend"));
    }
}
