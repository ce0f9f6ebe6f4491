package io.keybroker.backend.file;

import io.keybroker.backend.BackendKind;
import io.keybroker.backend.SecretBackendContract;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.json.JsonMapper;

/** The backend contract against the file backend, on a secrets file this test writes as an operator would. */
class FileSecretBackendContractTests extends SecretBackendContract {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Instant FIRST = Instant.parse("2026-11-01T10:00:00Z");

    private Path dir;
    private Path file;
    /** The file's content: versions of each path, oldest first. */
    private final Map<String, List<String>> versions = new LinkedHashMap<>();

    @Override
    protected BackendKind.Opened open() {
        try {
            dir = Files.createDirectories(Path.of("target", "file-contract-" + System.nanoTime()).toAbsolutePath());
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        // The file appears with the first version a test writes.
        file = dir.resolve("secrets.yaml");
        FileSecretBackend backend = new FileSecretBackend(file, Duration.ofSeconds(2));
        return new BackendKind.Opened(backend, backend);
    }

    /** Nothing runs: the store is a file. */
    @Override
    protected void stopStore() {
    }

    @Override
    protected void putValue(String path, String value) {
        versions.computeIfAbsent(path, p -> new ArrayList<>()).add(value);
        write();
    }

    @Override
    protected void putFields(String path, Map<String, String> fields) {
        putValue(path, JSON.writeValueAsString(fields));
    }

    @Override
    protected BackendKind.Opened unreachableBackend() {
        FileSecretBackend missing = new FileSecretBackend(dir.resolve("no-such-file.yaml"), Duration.ofSeconds(2));
        return new BackendKind.Opened(missing, missing);
    }

    @Override
    protected boolean takesWrites() {
        return false;
    }

    /** Writes the whole file in the documented format; values in single quotes, which YAML escapes by doubling. */
    private void write() {
        StringBuilder yaml = new StringBuilder("secrets:\n");
        versions.forEach((path, values) -> {
            yaml.append("  ").append(path).append(":\n");
            for (int i = 0; i < values.size(); i++) {
                yaml.append("    - version: \"").append(i + 1).append("\"\n")
                        .append("      value: '").append(values.get(i).replace("'", "''")).append("'\n")
                        .append("      createdAt: ").append(FIRST.plus(Duration.ofMinutes(i))).append('\n');
            }
        });
        try {
            Files.writeString(file, yaml);
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
