package io.keybroker.backend.vault;

import io.keybroker.backend.BackendLocation;
import io.keybroker.backend.BackendSecret;
import io.keybroker.backend.BackendUnavailableException;
import io.keybroker.backend.BackendVersion;
import io.keybroker.backend.ChangeMarker;
import io.keybroker.backend.PromotedVersion;
import io.keybroker.backend.SecretBackend;
import io.keybroker.backend.SecretFormatException;
import io.keybroker.backend.StagedVersion;
import io.keybroker.backend.WriteRefusedException;
import io.keybroker.backend.WriteRequest;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.SecretValue;
import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.retry.Retry;

/**
 * The {@code vault} backend: KV version 2 on HashiCorp Vault or OpenBao.
 *
 * <ul>
 *   <li>{@link #marker} reads only {@code <kv-mount>/metadata/<path>}: one cheap call per poll, no value.</li>
 *   <li>{@link #read} reads the metadata, then {@code <kv-mount>/data/<path>?version=N} for the current and the
 *       previous version. Current is the newest live version (neither deleted nor destroyed), previous the
 *       newest live version below it; version ids are the KV version numbers and {@code createdAt} is the
 *       version's {@code created_time}.</li>
 *   <li>A path without metadata, or whose versions are all deleted or destroyed, is {@code Mono.empty()}.</li>
 *   <li>A 403 is a {@link BackendUnavailableException} naming the policy the broker needs: the broker's token
 *       reading another environment's path fails closed rather than looking like a missing secret.</li>
 *   <li>Writes ({@code keybroker rotate}) go through {@link VaultWriter}: check-and-set on the version staged,
 *       so of two rotations based on one version exactly one wins. They need a rotator token, not the broker's
 *       read-only one.</li>
 * </ul>
 *
 * <p>Values never become {@code String}s: each data answer is read as bytes, the field is streamed out of it
 * into a {@code byte[]} ({@link KvJson}), and the answer bytes are wiped.
 */
public final class VaultSecretBackend implements SecretBackend {

    // What SecretLocator can produce, and nothing that could change the meaning of a Vault URL.
    private static final Pattern PATH = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*");
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]*");
    private static final int ATTEMPTS = 3;
    /** Folders listed at once: enough to hide latency, few enough not to flood Vault. */
    private static final int LIST_CONCURRENCY = 4;

    private final VaultConnection vault;
    private final VaultWriter writer;
    private final Clock clock;

    public VaultSecretBackend(VaultConnection vault, Clock clock) {
        this.vault = Objects.requireNonNull(vault, "vault must not be null");
        this.writer = new VaultWriter(vault);
        this.clock = Objects.requireNonNull(clock, "clock must not be null");
    }

    @Override
    public String id() {
        return VaultConnection.BACKEND;
    }

    @Override
    public Mono<ChangeMarker> marker(BackendLocation location) {
        return bounded(Mono.defer(() -> metadata(location))
                .flatMap(metadata -> Mono.justOrEmpty(metadata.select(clock.instant())))
                .map(KvMetadata.Selection::marker), () -> "read " + metadataPath(location));
    }

    @Override
    public Mono<BackendSecret> read(BackendLocation location) {
        return bounded(Mono.defer(() -> readOnce(location))
                // A version deleted between the metadata and the data read: read the new state again.
                .retryWhen(Retry.max(ATTEMPTS - 1).filter(VersionVanished.class::isInstance)
                        .onRetryExhaustedThrow((spec, signal) -> new BackendUnavailableException(id(), "vault: the "
                                + "versions of " + dataPath(location) + " kept changing while the broker read them ("
                                + ATTEMPTS + " attempts); the next read tries again"))),
                () -> "read " + metadataPath(location) + " and the versions it lists")
                .doOnDiscard(BackendSecret.class, BackendSecret::wipe);
    }

    /**
     * Walks {@code <kv-mount>/metadata/} from the folder holding {@code prefix} down, one list call per folder
     * (the token needs the {@code list} capability there). A key that is not a plain KV path segment is skipped:
     * no mapping could produce it, and it must not change the meaning of the next URL.
     */
    @Override
    public Mono<List<String>> list(String prefix) {
        Objects.requireNonNull(prefix, "prefix must not be null");
        String folder = prefix.substring(0, prefix.lastIndexOf('/') + 1);
        return Mono.defer(() -> listFolder(folder).filter(path -> path.startsWith(prefix)).sort().collectList());
    }

    private Flux<String> listFolder(String folder) {
        String path = vault.properties().kvMount() + "/metadata/"
                + (folder.isEmpty() ? "" : checkedPath(folder.substring(0, folder.length() - 1)) + "/");
        String action = "list " + path;
        return vault.get(path + "?list=true", action).flatMapMany(reply -> {
            try {
                if (reply.status() == 404) {
                    return Flux.<String>empty();
                }
                if (reply.status() != 200) {
                    return Flux.<String>error(vault.refused(reply, action, "the Vault policy of this token must "
                            + "grant list on " + path + "* to list secrets (docs/policy-review.md)"));
                }
                return Flux.fromIterable(KvJson.listKeys(reply.body()));
            } catch (IllegalArgumentException ex) {
                return Flux.<String>error(new BackendUnavailableException(id(), "vault: unexpected answer to " + action
                        + " from Vault at " + vault.address() + ": " + ex.getMessage()
                        + "; check keybroker.vault.kv-mount (" + vault.properties().kvMount() + ")"));
            } finally {
                reply.wipe();
            }
        }).flatMap(key -> {
            boolean isFolder = key.endsWith("/");
            String segment = isFolder ? key.substring(0, key.length() - 1) : key;
            if (!SEGMENT.matcher(segment).matches()) {
                return Flux.empty();
            }
            return isFolder ? listFolder(folder + key) : Flux.just(folder + key);
        }, LIST_CONCURRENCY);
    }

    /**
     * KV has no pending stage, so staging writes nothing: it fixes the version the write will be based on (the
     * expected one, or the latest now), and the value stays with the caller until {@link #promote} writes it with
     * check-and-set on that version.
     */
    @Override
    public Mono<StagedVersion> stage(BackendLocation location, SecretValue value, WriteRequest request) {
        Mono<Long> base;
        if (request.expectedCurrent() == null) {
            base = writer.latestVersion(location.path());
        } else {
            long expected;
            try {
                expected = Long.parseLong(request.expectedCurrent());
            } catch (NumberFormatException ex) {
                return Mono.error(new WriteRefusedException("vault versions are numbers; give the expected KV "
                        + "version as a number, e.g. --expected-version 6"));
            }
            if (expected < 0) {
                return Mono.error(new WriteRefusedException("the expected KV version must be 0 or more"));
            }
            base = Mono.just(expected);
        }
        return base.map(version -> new StagedVersion(location, null, Long.toString(version), false, "version "
                + version + " of " + location.path() + " is current; the new key is held in memory"));
    }

    @Override
    public Mono<PromotedVersion> promote(StagedVersion staged, SecretValue value) {
        long base = Long.parseLong(staged.replaces());
        BackendLocation location = staged.location();
        String field = location.field() != null ? location.field() : vault.properties().defaultField();
        return writer.write(location.path(), field, value, base).map(written -> new PromotedVersion(
                Long.toString(written), "wrote version " + written + " of " + location.path() + " (check-and-set on "
                        + base + "); version " + base + " is now previous"));
    }

    /** Nothing was written while staged: there is nothing to take back. */
    @Override
    public Mono<String> discard(StagedVersion staged) {
        return Mono.just("nothing was written; version " + staged.replaces() + " stays current");
    }

    /** The whole operation, login and every call included, within {@code keybroker.vault.timeout}. */
    private <T> Mono<T> bounded(Mono<T> operation, Supplier<String> action) {
        return operation.timeout(vault.properties().timeout(),
                Mono.defer(() -> Mono.error(vault.unavailable(new TimeoutException(), action.get()))));
    }

    /** Completes when Vault answers {@code auth/token/lookup-self} with the broker's credentials. */
    @Override
    public Mono<Void> checkHealth() {
        return vault.verify();
    }

    private Mono<BackendSecret> readOnce(BackendLocation location) {
        return metadata(location).flatMap(metadata -> {
            KvMetadata.Selection selection = metadata.select(clock.instant()).orElse(null);
            if (selection == null) {
                return Mono.empty();
            }
            KvMetadata.KvVersion current = selection.current();
            KvMetadata.KvVersion previous = selection.previous();
            return version(location, current).flatMap(currentVersion -> {
                Mono<BackendSecret> secret = previous == null
                        ? Mono.just(new BackendSecret(currentVersion, null, selection.marker()))
                        : version(location, previous).map(previousVersion ->
                                new BackendSecret(currentVersion, previousVersion, selection.marker()));
                // Whatever stops the second read (an error, a time-out cancelling it), the first value is wiped.
                return secret.doOnError(error -> currentVersion.wipe()).doOnCancel(currentVersion::wipe);
            });
        });
    }

    private Mono<KvMetadata> metadata(BackendLocation location) {
        String path = metadataPath(location);
        String action = "read " + path;
        return vault.get(path, action).flatMap(reply -> {
            try {
                if (reply.status() == 404) {
                    return Mono.empty();
                }
                if (reply.status() != 200) {
                    return Mono.error(vault.refused(reply, action, policyAdvice(location)));
                }
                return Mono.just(KvMetadata.parse(reply.body()));
            } catch (IllegalArgumentException ex) {
                return Mono.error(new BackendUnavailableException(id(), "vault: unexpected answer to " + action
                        + " from Vault at " + vault.address() + ": " + ex.getMessage()
                        + "; check keybroker.vault.kv-mount ("
                        + vault.properties().kvMount() + ")"));
            } finally {
                reply.wipe();
            }
        });
    }

    private Mono<BackendVersion> version(BackendLocation location, KvMetadata.KvVersion version) {
        String path = dataPath(location) + "?version=" + version.number();
        String action = "read " + path;
        String field = location.field() != null ? location.field() : vault.properties().defaultField();
        String where = dataPath(location) + " (version " + version.number() + ")";
        return vault.get(path, action).flatMap(reply -> {
            try {
                if (reply.status() == 404) {
                    return Mono.error(new VersionVanished());
                }
                if (reply.status() != 200) {
                    return Mono.error(vault.refused(reply, action, policyAdvice(location)));
                }
                SecretValue value = KvJson.field(reply.body(), field, where);
                if (value == null) {
                    return Mono.error(new VersionVanished());
                }
                return Mono.just(new BackendVersion(Long.toString(version.number()), version.createdAt(), value));
            } catch (IllegalArgumentException ex) {
                return Mono.error(new BackendUnavailableException(id(), "vault: unexpected answer to " + action
                        + " from Vault at " + vault.address() + ": " + ex.getMessage()
                        + "; check keybroker.vault.kv-mount ("
                        + vault.properties().kvMount() + ")"));
            } finally {
                reply.wipe();
            }
        });
    }

    private String metadataPath(BackendLocation location) {
        return vault.properties().kvMount() + "/metadata/" + checked(location);
    }

    private String dataPath(BackendLocation location) {
        return vault.properties().kvMount() + "/data/" + checked(location);
    }

    private static String checked(BackendLocation location) {
        return checkedPath(location.path());
    }

    /** Refuses a backend path that is not a plain KV path, so that no path can change the meaning of the URL. */
    static String checkedPath(String path) {
        if (!PATH.matcher(path).matches()) {
            throw new SecretFormatException("the vault path '" + SecretName.printable(path) + "' is not a KV path "
                    + "(segments of letters, digits, '.', '_' and '-' joined by '/'); fix the mapping's path "
                    + "(keybroker.mappings[i].path)");
        }
        return path;
    }

    /** What the broker's Vault policy must grant for {@code location}, for a 403 message. */
    private String policyAdvice(BackendLocation location) {
        String mount = vault.properties().kvMount();
        String path = location.path();
        int slash = path.indexOf('/');
        String environment = slash < 0 ? path : path.substring(0, slash);
        return "the Vault policy of the broker must grant read on " + mount + "/data/" + environment + "/* and "
                + mount + "/metadata/" + environment + "/* (docs/vault.md has the policy); a broker configured for "
                + "one environment cannot read another environment's paths";
    }

    /** A version chosen from the metadata had no data any more: it was deleted or destroyed in between. */
    private static final class VersionVanished extends RuntimeException {

        VersionVanished() {
            super("a KV version was deleted during the read", null, false, false);
        }
    }
}
