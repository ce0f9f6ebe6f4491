package io.keybroker.backend.vault;

import io.keybroker.backend.BackendUnavailableException;
import io.keybroker.secret.SecretValue;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import reactor.core.publisher.Mono;

/**
 * Writes new versions of KV version 2 secrets with check-and-set, for {@code keybroker rotate}: a write names the
 * version it was based on ({@code options.cas}), and Vault refuses it if anyone wrote since. Two rotations that
 * start from the same version can therefore never both win; the loser gets a {@link VaultWriteConflictException}
 * and nothing is written.
 *
 * <p>The request body is built byte by byte from the {@link SecretValue}s (no {@code String} of a value) and
 * wiped once Vault answered; the caller keeps owning, and wiping, its values. The broker itself never writes:
 * the token used here needs a rotator policy (docs/vault.md), not the broker's read-only one.
 *
 * <pre>{@code
 * VaultWriter writer = new VaultWriter(connection);
 * long latest = writer.latestVersion("prod/stripe/secret-key").block();
 * long written = writer.write("prod/stripe/secret-key", "value", newKey, latest).block();
 * }</pre>
 */
public final class VaultWriter {

    private final VaultConnection vault;

    public VaultWriter(VaultConnection vault) {
        this.vault = Objects.requireNonNull(vault, "vault must not be null");
    }

    /**
     * The latest written version of {@code path} (metadata {@code current_version}, live or not), the value to pass
     * as {@code expectedVersion}; 0 when the path was never written.
     *
     * @param path the backend path without the mount, e.g. {@code prod/stripe/secret-key}
     */
    public Mono<Long> latestVersion(String path) {
        return Mono.defer(() -> {
            String metadata = vault.properties().kvMount() + "/metadata/" + VaultSecretBackend.checkedPath(path);
            String action = "read " + metadata;
            return vault.get(metadata, action).flatMap(reply -> {
                try {
                    if (reply.status() == 404) {
                        return Mono.just(0L);
                    }
                    if (reply.status() != 200) {
                        return Mono.error(vault.refused(reply, action, policyAdvice(path)));
                    }
                    return Mono.just(KvMetadata.parse(reply.body()).currentVersion());
                } catch (IllegalArgumentException ex) {
                    return Mono.error(new BackendUnavailableException(VaultConnection.BACKEND,
                            "vault: unexpected answer to " + action + ": " + ex.getMessage()));
                } finally {
                    reply.wipe();
                }
            });
        });
    }

    /** Writes a version holding one field; see {@link #write(String, Map, long)}. */
    public Mono<Long> write(String path, String field, SecretValue value, long expectedVersion) {
        return write(path, Map.of(field, value), expectedVersion);
    }

    /**
     * Writes a new version of {@code path} holding exactly {@code fields}, if the latest version is still
     * {@code expectedVersion} (0: only if the path was never written).
     *
     * @return the version number Vault gave the new version
     * @throws VaultWriteConflictException (as the error signal) when someone wrote since {@code expectedVersion}
     */
    public Mono<Long> write(String path, Map<String, SecretValue> fields, long expectedVersion) {
        if (fields.isEmpty()) {
            return Mono.error(new IllegalArgumentException("fields must not be empty"));
        }
        if (expectedVersion < 0) {
            return Mono.error(new IllegalArgumentException("expectedVersion must be 0 or more"));
        }
        return Mono.defer(() -> {
            String data = vault.properties().kvMount() + "/data/" + VaultSecretBackend.checkedPath(path);
            String action = "write a new version of " + data + " (cas=" + expectedVersion + ")";
            byte[] body = KvJson.writeBody(expectedVersion, new LinkedHashMap<>(fields));
            return vault.post(data, body, action).flatMap(reply -> {
                try {
                    if (reply.status() == 200) {
                        long version = KvJson.dataNumber(reply.body(), "version");
                        return version > 0 ? Mono.just(version) : Mono.error(new BackendUnavailableException(
                                VaultConnection.BACKEND, "vault: Vault accepted the write to " + data
                                        + " but did not say which version it created"));
                    }
                    String errors = KvJson.errors(reply.body());
                    if (reply.status() == 400 && errors.contains("check-and-set")) {
                        return Mono.error(new VaultWriteConflictException(data, expectedVersion, "vault: the "
                                + "check-and-set write to " + data + " lost: its latest version is no longer "
                                + expectedVersion + " (another rotation or an operator wrote first; Vault said: "
                                + errors + "); nothing was written: read the secret again and decide anew"));
                    }
                    return Mono.error(vault.refused(reply, action, "the Vault policy of the rotating token must grant "
                            + "create and update on " + vault.properties().kvMount() + "/data/" + environment(path)
                            + "/* and read on " + vault.properties().kvMount() + "/metadata/" + environment(path)
                            + "/* (docs/vault.md, rotator policy)"));
                } finally {
                    reply.wipe();
                }
            }).doFinally(signal -> Arrays.fill(body, (byte) 0));
        });
    }

    private String policyAdvice(String path) {
        return "the Vault policy must grant read on " + vault.properties().kvMount() + "/metadata/" + environment(path)
                + "/*";
    }

    private static String environment(String path) {
        int slash = path.indexOf('/');
        return slash < 0 ? path : path.substring(0, slash);
    }
}
