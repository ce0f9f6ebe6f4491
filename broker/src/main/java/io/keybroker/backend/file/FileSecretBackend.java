package io.keybroker.backend.file;

import io.keybroker.backend.BackendLocation;
import io.keybroker.backend.BackendSecret;
import io.keybroker.backend.BackendUnavailableException;
import io.keybroker.backend.BackendVersion;
import io.keybroker.backend.ChangeMarker;
import io.keybroker.backend.JsonFieldSelector;
import io.keybroker.backend.PromotedVersion;
import io.keybroker.backend.SecretBackend;
import io.keybroker.backend.StagedVersion;
import io.keybroker.backend.WriteRefusedException;
import io.keybroker.backend.WriteRequest;
import io.keybroker.backend.file.SecretsFileParser.InvalidFileException;
import io.keybroker.backend.file.SecretsFileParser.Parsed;
import io.keybroker.backend.file.SecretsFileParser.PathInfo;
import io.keybroker.secret.SecretValue;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * The {@code file} backend: one YAML file of secrets for development, keyed by backend path, each path a list of
 * versions oldest first (the last is current, the one before it previous). docs/file-backend.md has the format.
 *
 * <h2>What it keeps</h2>
 * Only metadata: for each path the version ids, their creation times and a change marker (a keyed digest), and a
 * keyed digest of the whole file to notice changes. No value is kept between calls: {@link #read} reads and
 * parses the file again, hands the two values over as {@link SecretValue}s that the caller owns, and drops the
 * parse. For a small development file that costs well under a millisecond.
 *
 * <h2>Change detection</h2>
 * Every {@code keybroker.file.reload-interval} the file's digest is compared with the last one; on a change the
 * file is parsed and the metadata replaced whole. Polling the content (not a WatchService) also notices a
 * Kubernetes ConfigMap or Secret update, which swaps a {@code ..data} symlink. An invalid file never replaces
 * the last good metadata: reads and marker polls fail with a message naming the file and the problem until the
 * file is fixed, and the cache serves its last good values meanwhile (up to ttl + max-stale).
 */
public final class FileSecretBackend implements SecretBackend, SmartLifecycle, AutoCloseable {

    public static final String ID = "file";

    private static final Logger log = LoggerFactory.getLogger(FileSecretBackend.class);
    private static final String HMAC = "HmacSHA256";

    private final Path file;
    private final Duration reloadInterval;
    private final Scheduler scheduler;
    private final boolean ownsScheduler;
    private final byte[] digestKey;
    private final JsonFieldSelector fields = new JsonFieldSelector();
    private final AtomicReference<State> state;
    private volatile Disposable reloading;

    /**
     * The metadata in force.
     *
     * @param paths the last good metadata, by backend path
     * @param fileDigest keyed digest of the file content last looked at (good or not), or {@code null}
     * @param problem why the file as it is now cannot be used, or {@code null} when it can
     */
    record State(Map<String, PathInfo> paths, @Nullable String fileDigest, @Nullable String problem) {
    }

    /**
     * A backend with its own daemon thread for the periodic check, released by {@link #close()}.
     *
     * @param file the secrets file ({@code keybroker.file.path})
     * @param reloadInterval how often the file is checked for changes
     */
    public FileSecretBackend(Path file, Duration reloadInterval) {
        this(file, reloadInterval, Schedulers.newSingle("keybroker-file-backend", true), true);
    }

    /**
     * A backend whose periodic check runs on {@code scheduler}, which the caller owns (tests pass a virtual-time
     * one).
     */
    public FileSecretBackend(Path file, Duration reloadInterval, Scheduler scheduler) {
        this(file, reloadInterval, scheduler, false);
    }

    private FileSecretBackend(Path file, Duration reloadInterval, Scheduler scheduler, boolean ownsScheduler) {
        this.file = Objects.requireNonNull(file, "file must not be null");
        this.reloadInterval = Objects.requireNonNull(reloadInterval, "reloadInterval must not be null");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler must not be null");
        this.ownsScheduler = ownsScheduler;
        // Markers and digests are HMACs under a key of this process: they cannot be brute-forced back to a value
        // by whoever sees one, and they mean nothing to another process.
        this.digestKey = new byte[32];
        new SecureRandom().nextBytes(digestKey);
        this.state = new AtomicReference<>(new State(Map.of(), null, "not read yet"));
        reload();
    }

    @Override
    public String id() {
        return ID;
    }

    /** Reads and parses the file now and returns the path's current and previous values; keeps none of them. */
    @Override
    public Mono<BackendSecret> read(BackendLocation location) {
        Objects.requireNonNull(location, "location must not be null");
        // File I/O blocks: never on an event-loop thread.
        return Mono.fromCallable(() -> readNow(location)).subscribeOn(Schedulers.boundedElastic());
    }

    private BackendSecret readNow(BackendLocation location) {
        byte[] content = readFile();
        BackendSecret secret;
        try {
            Parsed parsed = parse(content, location.path());
            secret = parsed.secret();
        } finally {
            Arrays.fill(content, (byte) 0);
        }
        if (secret == null || location.field() == null) {
            return secret;
        }
        try {
            BackendVersion current = selectField(secret.current(), location);
            BackendVersion previous;
            try {
                previous = secret.previous() == null ? null : selectField(secret.previous(), location);
            } catch (RuntimeException ex) {
                current.wipe();
                throw ex;
            }
            return new BackendSecret(current, previous, secret.marker());
        } finally {
            secret.wipe();
        }
    }

    private BackendVersion selectField(BackendVersion version, BackendLocation location) {
        SecretValue value = fields.select(version.value().bytes(), location, version.version());
        return new BackendVersion(version.version(), version.createdAt(), value);
    }

    /** The change marker from the metadata in memory; no file access. */
    @Override
    public Mono<ChangeMarker> marker(BackendLocation location) {
        Objects.requireNonNull(location, "location must not be null");
        return Mono.defer(() -> {
            State now = state.get();
            if (now.problem() != null) {
                return Mono.error(new BackendUnavailableException(ID, now.problem()));
            }
            PathInfo info = now.paths().get(location.path());
            return info == null ? Mono.empty() : Mono.just(info.marker());
        });
    }

    /** Looks at the file now (not at metadata up to one reload interval old) and lists its paths. */
    @Override
    public Mono<List<String>> list(String prefix) {
        Objects.requireNonNull(prefix, "prefix must not be null");
        return Mono.fromCallable(() -> {
            reload();
            State now = state.get();
            if (now.problem() != null) {
                throw new BackendUnavailableException(ID, now.problem());
            }
            return now.paths().keySet().stream().filter(path -> path.startsWith(prefix)).sorted().toList();
        }).subscribeOn(Schedulers.boundedElastic());
    }

    /**
     * Refused: writing would put a value on disk from Keybroker's side, which the broker never does. Whoever owns
     * the development file appends the version.
     */
    @Override
    public Mono<StagedVersion> stage(BackendLocation location, SecretValue value, WriteRequest request) {
        return Mono.error(readOnly());
    }

    @Override
    public Mono<PromotedVersion> promote(StagedVersion staged, SecretValue value) {
        return Mono.error(readOnly());
    }

    @Override
    public Mono<String> discard(StagedVersion staged) {
        return Mono.error(readOnly());
    }

    private static WriteRefusedException readOnly() {
        return new WriteRefusedException("the file backend is for development and Keybroker never writes it: "
                + "append a version to its file instead (keybroker.file.path, format in docs/file-backend.md)");
    }

    /** Fails when the file is missing or unreadable, naming {@code keybroker.file.path}. */
    @Override
    public Mono<Void> checkHealth() {
        return Mono.<Void>fromRunnable(() -> {
            if (!Files.isRegularFile(file)) {
                throw new BackendUnavailableException(ID, "keybroker.file.path is " + file + ", which does not "
                        + "exist or is not a file; create it (format in docs/file-backend.md) or fix the property");
            }
            if (!Files.isReadable(file)) {
                throw new BackendUnavailableException(ID, "keybroker.file.path is " + file + ", which the broker's "
                        + "user cannot read; fix its permissions");
            }
        }).subscribeOn(Schedulers.boundedElastic());
    }

    /**
     * Looks at the file now and, if its content changed, parses it and replaces the metadata (an invalid file
     * leaves the last good metadata and records the problem). The periodic check calls this; tests may too.
     */
    public void reload() {
        byte[] content;
        try {
            content = readFile();
        } catch (BackendUnavailableException ex) {
            record(state.get().paths(), null, ex.getMessage());
            return;
        }
        try {
            String digest = digest(content);
            State before = state.get();
            if (digest.equals(before.fileDigest())) {
                return;
            }
            try {
                Parsed parsed = new SecretsFileParser(file, mac()).parse(content, null);
                record(parsed.paths(), digest, null);
            } catch (InvalidFileException ex) {
                record(before.paths(), digest, ex.getMessage());
            }
        } finally {
            Arrays.fill(content, (byte) 0);
        }
    }

    /** The metadata in force, for tests and diagnostics; holds no value. */
    State state() {
        return state.get();
    }

    private Parsed parse(byte[] content, String wanted) {
        String digest = digest(content);
        try {
            Parsed parsed = new SecretsFileParser(file, mac()).parse(content, wanted);
            record(parsed.paths(), digest, null);
            return parsed;
        } catch (InvalidFileException ex) {
            record(state.get().paths(), digest, ex.getMessage());
            throw new BackendUnavailableException(ID, ex.getMessage() + " (the last good content stays in use "
                    + "until the file is fixed)");
        }
    }

    private void record(Map<String, PathInfo> paths, String digest, String problem) {
        State before = state.getAndSet(new State(paths, digest, problem));
        if (problem != null && !problem.equals(before.problem())) {
            log.warn("The secrets file cannot be used: {}; reads of the file backend fail until it is fixed", problem);
        } else if (problem == null && (before.problem() != null || !Objects.equals(digest, before.fileDigest()))) {
            log.info("Loaded {} secret path(s) from {}", paths.size(), file);
        }
    }

    private byte[] readFile() {
        try {
            long size = Files.size(file);
            if (size > SecretsFileParser.MAX_FILE_BYTES) {
                throw new BackendUnavailableException(ID, file + " is " + size + " bytes; the file backend reads at "
                        + "most " + SecretsFileParser.MAX_FILE_BYTES + " bytes (keybroker.file.path)");
            }
            try (InputStream in = Files.newInputStream(file)) {
                return in.readNBytes(SecretsFileParser.MAX_FILE_BYTES + 1);
            }
        } catch (NoSuchFileException ex) {
            throw new BackendUnavailableException(ID, "keybroker.file.path is " + file + ", which does not exist; "
                    + "create it (format in docs/file-backend.md) or fix the property");
        } catch (AccessDeniedException ex) {
            throw new BackendUnavailableException(ID, "keybroker.file.path is " + file + ", which the broker's user "
                    + "cannot read; fix its permissions");
        } catch (IOException ex) {
            throw new BackendUnavailableException(ID, "cannot read " + file + " (keybroker.file.path): "
                    + ex.getClass().getSimpleName());
        }
    }

    private Mac mac() {
        try {
            Mac mac = Mac.getInstance(HMAC);
            mac.init(new SecretKeySpec(digestKey, HMAC));
            return mac;
        } catch (GeneralSecurityException ex) {
            throw new IllegalStateException("this Java runtime has no " + HMAC + "; the file backend needs it", ex);
        }
    }

    private String digest(byte[] content) {
        Mac mac = mac();
        return HexFormat.of().formatHex(mac.doFinal(content));
    }

    // ------------------------------------------------------------------------------------------- lifecycle

    @Override
    public synchronized void start() {
        if (reloading == null) {
            long period = reloadInterval.toMillis();
            reloading = scheduler.schedulePeriodically(this::reloadQuietly, period, period, TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public synchronized void stop() {
        if (reloading != null) {
            reloading.dispose();
            reloading = null;
        }
    }

    @Override
    public boolean isRunning() {
        return reloading != null;
    }

    /** Stops the periodic check and releases its thread if this backend made it. */
    @Override
    public void close() {
        stop();
        if (ownsScheduler) {
            scheduler.dispose();
        }
    }

    private void reloadQuietly() {
        try {
            reload();
        } catch (RuntimeException ex) {
            // A periodic task that throws is cancelled; keep watching.
            log.warn("checking {} for changes failed: {}", file, ex.toString());
        }
    }

    @Override
    public String toString() {
        return "FileSecretBackend[" + file + "]";
    }
}
