package io.keybroker.backend;

import java.util.Collection;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The backends this broker has configured, by id. A backend exists only when {@code keybroker.backend} or a
 * {@code keybroker.mappings[i].backend} names it, so asking for another id is a configuration mistake.
 */
public final class SecretBackends {

    private final Map<String, SecretBackend> byId;

    public SecretBackends(Collection<? extends SecretBackend> backends) {
        Map<String, SecretBackend> map = new TreeMap<>();
        for (SecretBackend backend : backends) {
            SecretBackend clash = map.put(backend.id(), backend);
            if (clash != null) {
                throw new IllegalStateException("two backends claim the id '" + backend.id() + "': "
                        + clash.getClass().getName() + " and " + backend.getClass().getName());
            }
        }
        this.byId = Map.copyOf(map);
    }

    /**
     * The backend with this id.
     *
     * @throws IllegalStateException naming the id and the properties that choose backends, when it is not
     *     configured
     */
    public SecretBackend get(String id) {
        Objects.requireNonNull(id, "id must not be null");
        SecretBackend backend = byId.get(id);
        if (backend == null) {
            throw new IllegalStateException("backend '" + id + "' is not configured in this broker (configured: "
                    + (byId.isEmpty() ? "none" : String.join(", ", ids())) + "); a backend is set up when keybroker.backend or a "
                    + "keybroker.mappings[i].backend names it, so check those properties");
        }
        return backend;
    }

    /** The configured ids, sorted. */
    public Set<String> ids() {
        return new TreeSet<>(byId.keySet());
    }

    public Collection<SecretBackend> all() {
        return byId.values();
    }
}
