package io.keybroker.backend.file;

import io.keybroker.config.ConditionalOnBackend;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Wires the file backend when {@code keybroker.backend} or a mapping names {@code file}. A missing
 * {@code keybroker.file.path} stops start-up; a path whose file does not exist yet does not (readiness reports
 * it, and the file is picked up when it appears).
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnBackend(FileSecretBackend.ID)
@EnableConfigurationProperties(FileBackendProperties.class)
public class FileBackendConfiguration {

    /** Closed with the context: that stops its own reload thread. */
    @Bean
    FileSecretBackend fileSecretBackend(FileBackendProperties properties) {
        return FileBackendKind.create(properties);
    }
}
