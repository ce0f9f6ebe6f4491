package io.keybroker.backend;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Where a logical secret lives: which backend, the backend path (already prefixed with the environment) and,
 * optionally, one field to pick out of a JSON value (Vault KV data, or an AWS SecretString that is JSON).
 *
 * @param backend the backend id, that of a registered {@link BackendKind} (e.g. {@code vault})
 * @param path the backend path, e.g. {@code prod/stripe/secret-key}
 * @param field the JSON field to select, or {@code null} to take the value as it is
 */
public record BackendLocation(String backend, String path, @Nullable String field) {

    public BackendLocation {
        Objects.requireNonNull(backend, "backend must not be null");
        Objects.requireNonNull(path, "path must not be null");
        if (field != null && field.isEmpty()) {
            field = null;
        }
    }

    public static BackendLocation of(String backend, String path) {
        return new BackendLocation(backend, path, null);
    }

    @Override
    public String toString() {
        return backend + ":" + path + (field == null ? "" : "#" + field);
    }
}
