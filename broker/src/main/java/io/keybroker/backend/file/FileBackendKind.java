package io.keybroker.backend.file;

import io.keybroker.backend.BackendKind;
import io.keybroker.config.ConfigurationProblemException;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.bind.Binder;
import reactor.core.scheduler.Scheduler;

/** The {@code file} backend kind. */
public final class FileBackendKind implements BackendKind {

    @Override
    public String id() {
        return FileSecretBackend.ID;
    }

    @Override
    public Opened open(Binder binder) {
        FileSecretBackend backend = create(binder.bindOrCreate("keybroker.file", FileBackendProperties.class), null);
        return new Opened(backend, backend);
    }

    /**
     * Checks the properties and builds the backend; the server ({@link FileBackendConfiguration}) and commands
     * share it; {@code scheduler} runs the periodic check (the server's, which it owns), or {@code null} for a
     * thread of the backend's own. A missing {@code keybroker.file.path} is an error; a path whose file does not
     * exist yet is not.
     */
    static FileSecretBackend create(FileBackendProperties properties, @Nullable Scheduler scheduler) {
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
        return scheduler == null ? new FileSecretBackend(properties.path(), properties.reloadInterval())
                : new FileSecretBackend(properties.path(), properties.reloadInterval(), scheduler);
    }
}
