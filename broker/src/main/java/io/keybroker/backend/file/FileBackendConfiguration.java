package io.keybroker.backend.file;

import io.keybroker.config.ConditionalOnBackend;
import io.keybroker.config.ConfigurationProblemException;
import java.util.ArrayList;
import java.util.List;
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
        List<String> problems = new ArrayList<>();
        if (properties.path() == null || properties.path().toString().isBlank()) {
            problems.add("keybroker.file.path is not set, but the file backend is in use (keybroker.backend or a "
                    + "mapping names 'file'): set it to the YAML secrets file (format in docs/file-backend.md), "
                    + "or run with --keybroker.dev=true for an example one");
        }
        if (properties.reloadInterval() == null || properties.reloadInterval().isNegative()
                || properties.reloadInterval().isZero()) {
            problems.add("keybroker.file.reload-interval is " + properties.reloadInterval()
                    + ": set a positive duration such as 2s");
        }
        if (!problems.isEmpty()) {
            throw new ConfigurationProblemException(problems);
        }
        return new FileSecretBackend(properties.path(), properties.reloadInterval());
    }
}
