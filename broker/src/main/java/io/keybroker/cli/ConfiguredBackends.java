package io.keybroker.cli;

import io.keybroker.backend.BackendKind;
import io.keybroker.backend.SecretBackend;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.bind.Binder;

/**
 * The backends a command opens from the broker's configuration, each once and only when asked for, closed
 * together. Commands name backends only by the ids configuration gives them, never by a list of their own.
 */
public final class ConfiguredBackends implements AutoCloseable {

    private final Binder binder;
    private final Map<String, BackendKind.Opened> opened = new LinkedHashMap<>();

    public ConfiguredBackends(Binder binder) {
        this.binder = binder;
    }

    /**
     * The backend with this id, opened on first use.
     *
     * @throws IllegalStateException naming the registered ids when no backend kind has this id
     */
    public synchronized SecretBackend get(String id) {
        BackendKind.Opened backend = opened.get(id);
        if (backend == null) {
            BackendKind kind = BackendKind.registered().get(id);
            if (kind == null) {
                throw new IllegalStateException("backend '" + id + "' is unknown: use one of "
                        + BackendKind.describeIds() + " in keybroker.backend and keybroker.mappings[i].backend");
            }
            backend = kind.open(binder);
            opened.put(id, backend);
        }
        return backend.backend();
    }

    /** Closes every backend opened, each even when another fails to close. */
    @Override
    public synchronized void close() {
        List<RuntimeException> failures = new ArrayList<>();
        for (BackendKind.Opened backend : opened.values()) {
            try {
                backend.close();
            } catch (RuntimeException ex) {
                failures.add(ex);
            }
        }
        opened.clear();
        if (!failures.isEmpty()) {
            RuntimeException first = failures.get(0);
            failures.subList(1, failures.size()).forEach(first::addSuppressed);
            throw first;
        }
    }
}
