package io.keybroker.backend;

import java.util.Objects;
import java.util.ServiceLoader;
import java.util.SortedMap;
import java.util.TreeMap;
import org.springframework.boot.context.properties.bind.Binder;

/**
 * One kind of backend this build carries, registered in {@code META-INF/services/io.keybroker.backend.BackendKind}.
 * The ids that configuration may name are exactly the registered kinds' ids: adding a backend means adding a kind,
 * and no other list of backend ids has to learn about it.
 *
 * <p>The server wires its backends through Spring; commands that run without the server ({@code keybroker
 * policy diff --backend}, {@code keybroker rotate}) open them through {@link #open}, from the same
 * configuration and with the same checks.
 */
public interface BackendKind {

    /** The id configuration names ({@code keybroker.backend}, {@code keybroker.mappings[i].backend}). */
    String id();

    /**
     * Builds the backend from the broker's configuration without contacting it.
     *
     * @throws io.keybroker.config.ConfigurationProblemException naming each property that can never work
     */
    Opened open(Binder binder);

    /**
     * A backend opened outside the server, with what must be released after it (clients, sessions, threads).
     */
    record Opened(SecretBackend backend, AutoCloseable resources) implements AutoCloseable {

        public Opened {
            Objects.requireNonNull(backend, "backend must not be null");
            Objects.requireNonNull(resources, "resources must not be null");
        }

        @Override
        public void close() {
            try {
                resources.close();
            } catch (RuntimeException ex) {
                throw ex;
            } catch (Exception ex) {
                throw new IllegalStateException("closing the " + backend.id() + " backend failed: "
                        + ex.getClass().getSimpleName(), ex);
            }
        }
    }

    /** The registered kinds by id, sorted; loaded anew on each call, so nothing is cached between uses. */
    static SortedMap<String, BackendKind> registered() {
        SortedMap<String, BackendKind> kinds = new TreeMap<>();
        for (BackendKind kind : ServiceLoader.load(BackendKind.class, BackendKind.class.getClassLoader())) {
            BackendKind clash = kinds.put(kind.id(), kind);
            if (clash != null) {
                throw new IllegalStateException("two backend kinds claim the id '" + kind.id() + "': "
                        + clash.getClass().getName() + " and " + kind.getClass().getName());
            }
        }
        return kinds;
    }

    /** The registered ids, for messages: e.g. {@code aws, file, vault}. */
    static String describeIds() {
        return String.join(", ", registered().keySet());
    }
}
