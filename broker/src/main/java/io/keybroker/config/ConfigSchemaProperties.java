package io.keybroker.config;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * What a configuration file was written for ({@code keybroker.config.*}).
 *
 * @param writtenFor the broker version a configuration source was written for (the chart writes its
 *     appVersion into the namespace ConfigMap). When it is newer than the running broker, as after a rollback of
 *     the sidecar image, the {@code keybroker.*} names in that source that this broker does not know are logged
 *     as warnings and ignored instead of stopping start-up; a typo in a source written for this version, or on
 *     the command line, still stops it
 */
@ConfigurationProperties("keybroker.config")
public record ConfigSchemaProperties(String writtenFor) {
}
