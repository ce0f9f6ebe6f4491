package io.keybroker.inject;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.json.JsonMapper;

/**
 * The injection template file (a mounted ConfigMap), re-read when its content changes: a {@code helm upgrade}
 * or {@code helm rollback} takes effect for the next pod without restarting the injector. As for the TLS files,
 * changes are found by content digest, because the kubelet swaps a {@code ..data} symlink. A file that does not
 * parse keeps the last good template in force.
 */
final class TemplateFile {

    private static final Logger log = LoggerFactory.getLogger(TemplateFile.class);

    private final Path path;
    private final JsonMapper json;
    private final AtomicReference<Loaded> current = new AtomicReference<>();
    private volatile String lastFailure;

    private record Loaded(PodMutator mutator, byte[] digest) {
    }

    /**
     * Reads the template.
     * @throws IOException naming the file and what is wrong with it
     */
    TemplateFile(Path path, JsonMapper json) throws IOException {
        this.path = path;
        this.json = json;
        byte[] content;
        try {
            content = Files.readAllBytes(path);
        } catch (NoSuchFileException ex) {
            throw new IOException("the injection template " + path + " does not exist: point --template at the "
                    + "chart's injection.json (ConfigMap <release>-injector)", ex);
        }
        current.set(new Loaded(parse(content), digest(content)));
    }

    PodMutator mutator() {
        return current.get().mutator();
    }

    /** Re-reads the file if its content changed; returns whether a new template is now in force. */
    boolean reloadIfChanged() {
        try {
            byte[] content = Files.readAllBytes(path);
            byte[] digest = digest(content);
            if (Arrays.equals(digest, current.get().digest())) {
                return false;
            }
            current.set(new Loaded(parse(content), digest));
            lastFailure = null;
            log.info("Reloaded the injection template {}", path);
            return true;
        } catch (IOException ex) {
            if (!ex.getMessage().equals(lastFailure)) {
                lastFailure = ex.getMessage();
                log.error("{}; the previous injection template stays in force", ex.getMessage());
            }
            return false;
        }
    }

    private PodMutator parse(byte[] content) throws IOException {
        try {
            return new PodMutator(InjectionTemplate.fromJson(json.readTree(content)));
        } catch (JacksonException | IllegalArgumentException ex) {
            throw new IOException("cannot read the injection template " + path + ": " + ex.getMessage(), ex);
        }
    }

    private static byte[] digest(byte[] content) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(content);
        } catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException(ex);
        }
    }
}
