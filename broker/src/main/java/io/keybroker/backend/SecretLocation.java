package io.keybroker.backend;

import io.keybroker.secret.SecretName;
import java.util.Objects;

/**
 * A logical name resolved through the configured mappings.
 *
 * @param name the logical name
 * @param backend where the backend keeps it
 * @param propertyName the Spring property name the Spring Cloud Config endpoint serves it under; the previous
 *     version is served under this name plus {@code .previous}
 */
public record SecretLocation(SecretName name, BackendLocation backend, String propertyName) {

    public SecretLocation {
        Objects.requireNonNull(name, "name must not be null");
        Objects.requireNonNull(backend, "backend must not be null");
        Objects.requireNonNull(propertyName, "propertyName must not be null");
    }
}
