package io.keybroker.backend.file;

import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The development file backend ({@code keybroker.file.*}).
 *
 * @param path the YAML file of secrets keyed by backend path, versions oldest first
 * @param reloadInterval how often the file is checked for changes
 */
@ConfigurationProperties("keybroker.file")
public record FileBackendProperties(Path path, @DefaultValue("2s") Duration reloadInterval) {
}
