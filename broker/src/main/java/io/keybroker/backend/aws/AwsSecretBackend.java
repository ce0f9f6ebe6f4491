package io.keybroker.backend.aws;

import io.keybroker.backend.BackendLocation;
import io.keybroker.backend.BackendSecret;
import io.keybroker.backend.BackendUnavailableException;
import io.keybroker.backend.BackendVersion;
import io.keybroker.backend.ChangeMarker;
import io.keybroker.backend.PromotedVersion;
import io.keybroker.backend.JsonFieldSelector;
import io.keybroker.backend.SecretBackend;
import io.keybroker.backend.SecretFormatException;
import io.keybroker.backend.StagedVersion;
import io.keybroker.backend.WriteConflictException;
import io.keybroker.backend.WriteRefusedException;
import io.keybroker.backend.WriteRequest;
import io.keybroker.secret.SecretValue;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionException;
import java.util.function.Function;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerAsyncClient;
import software.amazon.awssdk.services.secretsmanager.model.FilterNameStringType;
import software.amazon.awssdk.services.secretsmanager.model.GetSecretValueResponse;
import software.amazon.awssdk.services.secretsmanager.model.ResourceNotFoundException;
import software.amazon.awssdk.services.secretsmanager.model.SecretListEntry;
import software.amazon.awssdk.services.secretsmanager.model.SecretsManagerException;

/**
 * AWS Secrets Manager behind the {@link SecretBackend} seam. Current is {@code AWSCURRENT}, previous is
 * {@code AWSPREVIOUS}, each asked for by stage explicitly; the change marker is DescribeSecret's map of version
 * ids to those two stages, so GetSecretValue is called only when a stage moved.
 *
 * <p>Regions: the primary first, then each fallback region in order, when a region fails with a network error,
 * a timeout, a 5xx or throttling after the SDK's adaptive retries. A missing secret or a refusal (access
 * denied) is an answer, not a failure, and is not retried elsewhere.
 *
 * <p>The SDK hands the SecretString over as a {@code String}; it is turned into bytes at once and dropped.
 * SecretBinary is refused: Keybroker serves text secrets.
 */
public final class AwsSecretBackend implements SecretBackend, AutoCloseable {

    public static final String ID = "aws";

    private static final String CURRENT = "AWSCURRENT";
    private static final String PENDING = "AWSPENDING";

    /** One region's client. */
    public record RegionClient(String region, SecretsManagerAsyncClient client) {
    }

    private final List<RegionClient> regions;
    /** What the clients share (their I/O thread), closed after them. */
    private final AutoCloseable shared;
    private final JsonFieldSelector fields = new JsonFieldSelector();

    /**
     * @param regions the primary region's client first, then each fallback region's
     * @param shared what those clients share, closed after them
     */
    public AwsSecretBackend(List<RegionClient> regions, AutoCloseable shared) {
        if (regions.isEmpty()) {
            throw new IllegalArgumentException("regions must not be empty");
        }
        this.regions = List.copyOf(regions);
        this.shared = java.util.Objects.requireNonNull(shared, "shared must not be null");
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public Mono<BackendSecret> read(BackendLocation location) {
        return inRegions(location, "GetSecretValue", client -> readFrom(client, location));
    }

    @Override
    public Mono<ChangeMarker> marker(BackendLocation location) {
        return inRegions(location, "DescribeSecret", client -> Mono.fromFuture(() ->
                client.describeSecret(b -> b.secretId(location.path())))
                .map(described -> marker(described.versionIdsToStages())));
    }

    /**
     * ListSecrets with a name filter, every page. Secrets Manager's name filter is a prefix match that ignores
     * case, so the prefix is checked again here, case and all.
     */
    @Override
    public Mono<List<String>> list(String prefix) {
        return inRegions(BackendLocation.of(ID, prefix), "ListSecrets", client -> Flux.from(
                client.listSecretsPaginator(b -> b.filters(f -> f.key(FilterNameStringType.NAME).values(prefix))))
                .flatMapIterable(page -> page.secretList())
                .map(SecretListEntry::name)
                .filter(name -> name.startsWith(prefix))
                .distinct().sort().collectList());
    }

    /**
     * Rotation's createSecret step: the new value as {@code AWSPENDING} under the request's token (a new UUID when
     * none is given), so that repeating it with the same token creates nothing new. Writes go to the primary
     * region only: Secrets Manager replicates them, and a replica refuses writes.
     */
    @Override
    public Mono<StagedVersion> stage(BackendLocation location, SecretValue value, WriteRequest request) {
        if (location.field() != null) {
            return Mono.error(new WriteRefusedException("rotate writes the whole SecretString; the mapping "
                    + "selects field '" + location.field() + "' of a JSON value, which rotate does not merge: map "
                    + "the key to a secret of its own (keybroker.mappings[i].path without field)"));
        }
        String secretId = location.path();
        String token = request.newVersion() != null ? request.newVersion() : UUID.randomUUID().toString();
        return written(location, currentVersion(secretId).flatMap(current -> {
            if (request.expectedCurrent() != null && !request.expectedCurrent().equals(current)) {
                return Mono.error(new WriteConflictException("AWSCURRENT of " + secretId + " is version " + current
                        + ", not the expected " + request.expectedCurrent() + "; nothing was staged: read the "
                        + "secret again and decide anew"));
            }
            if (token.equals(current)) {
                return Mono.just(new StagedVersion(location, token, current, true, "nothing to do: version "
                        + token + " is already AWSCURRENT of " + secretId));
            }
            // PutSecretValue takes a String; it lives for this call only.
            return Mono.fromFuture(() -> primary().putSecretValue(b -> b.secretId(secretId).clientRequestToken(token)
                    .secretString(new String(value.bytes(), StandardCharsets.UTF_8))
                    .versionStages(PENDING)))
                    .thenReturn(new StagedVersion(location, token, current, false, "staged version " + token
                            + " of " + secretId + " as AWSPENDING (createSecret)"));
        }));
    }

    /**
     * Rotation's finishSecret step: AWSCURRENT moves to the staged version (Secrets Manager moves AWSPREVIOUS to
     * the one it leaves), then AWSPENDING is removed. A version made current by someone else since staging is
     * left alone.
     */
    @Override
    public Mono<PromotedVersion> promote(StagedVersion staged, SecretValue value) {
        String secretId = staged.location().path();
        return written(staged.location(), currentVersion(secretId).flatMap(current -> {
            if (!current.equals(staged.replaces())) {
                return Mono.error(new WriteConflictException("AWSCURRENT of " + secretId + " moved to version "
                        + current + " since version " + staged.version() + " was staged on " + staged.replaces()
                        + "; nothing was promoted (the staged version keeps AWSPENDING): read the secret again "
                        + "and decide anew"));
            }
            return Mono.fromFuture(() -> primary().updateSecretVersionStage(b -> b.secretId(secretId)
                    .versionStage(CURRENT).moveToVersionId(staged.version()).removeFromVersionId(current)))
                    .then(Mono.fromFuture(() -> primary().updateSecretVersionStage(b -> b.secretId(secretId)
                            .versionStage(PENDING).removeFromVersionId(staged.version()))))
                    .thenReturn(new PromotedVersion(staged.version(), "AWSCURRENT -> " + staged.version()
                            + ", AWSPREVIOUS -> " + current + " (finishSecret)"));
        }));
    }

    @Override
    public Mono<String> discard(StagedVersion staged) {
        String secretId = staged.location().path();
        return written(staged.location(), Mono.fromFuture(() -> primary().updateSecretVersionStage(b ->
                b.secretId(secretId).versionStage(PENDING).removeFromVersionId(staged.version())))
                .thenReturn("removed AWSPENDING from version " + staged.version() + "; AWSCURRENT is still "
                        + staged.replaces()));
    }

    private SecretsManagerAsyncClient primary() {
        return regions.get(0).client();
    }

    private Mono<String> currentVersion(String secretId) {
        return Mono.fromFuture(() -> primary().describeSecret(b -> b.secretId(secretId))).flatMap(described -> {
            for (Map.Entry<String, List<String>> entry : described.versionIdsToStages().entrySet()) {
                if (entry.getValue().contains(CURRENT)) {
                    return Mono.just(entry.getKey());
                }
            }
            return Mono.error(new WriteRefusedException(secretId + " has no AWSCURRENT version; create the "
                    + "secret with its first value before rotating it"));
        });
    }

    /** A write's failures as the seam's exceptions, naming what the credentials must allow. */
    private <T> Mono<T> written(BackendLocation location, Mono<T> write) {
        return write.onErrorMap(CompletionException.class, ex -> ex.getCause() == null ? ex : ex.getCause())
                .onErrorMap(ex -> !(ex instanceof WriteConflictException || ex instanceof WriteRefusedException),
                        ex -> new BackendUnavailableException(ID, "aws: Secrets Manager in " + regions.get(0).region()
                                + " refused the rotation of " + location.path() + " (" + describe(ex) + "): check "
                                + "keybroker.aws.region, the credentials and that they allow PutSecretValue, "
                                + "UpdateSecretVersionStage and DescribeSecret on it"));
    }

    @Override
    public Mono<Void> checkHealth() {
        // DescribeSecret on a name nobody has: answered (not found) means reachable and authenticated, and the
        // least-privilege policy allows it on <environment>/*.
        return inRegions(BackendLocation.of(ID, "keybroker-health-check"), "DescribeSecret", client ->
                Mono.fromFuture(() -> client.describeSecret(b -> b.secretId("keybroker-health-check")))
                        .then(Mono.<Void>empty()))
                .then();
    }

    private <T> Mono<T> inRegions(BackendLocation location, String action,
            Function<SecretsManagerAsyncClient, Mono<T>> call) {
        List<String> failures = new ArrayList<>();
        Mono<T> chain = Mono.error(new IllegalStateException("no region"));
        for (int i = regions.size() - 1; i >= 0; i--) {
            RegionClient region = regions.get(i);
            Mono<T> next = chain;
            chain = Mono.defer(() -> call.apply(region.client()))
                    .onErrorMap(CompletionException.class, ex -> ex.getCause() == null ? ex : ex.getCause())
                    .onErrorResume(ResourceNotFoundException.class, ex -> Mono.empty())
                    .onErrorResume(ex -> {
                        if (!isRegionFailure(ex)) {
                            return Mono.error(answer(location, action, region.region(), ex));
                        }
                        failures.add(region.region() + " (" + describe(ex) + ")");
                        return next;
                    });
        }
        return chain.onErrorMap(IllegalStateException.class, ex -> new BackendUnavailableException(ID, "aws: "
                + action + " " + location.path() + " failed in every region: " + String.join(", ", failures)
                + "; check keybroker.aws.region / keybroker.aws.fallback-regions, the endpoint, the network and "
                + "the credentials (AWS SDK default chain)"));
    }

    private static boolean isRegionFailure(Throwable ex) {
        if (ex instanceof SdkClientException) {
            return true; // network, timeout, no answer
        }
        if (ex instanceof SecretsManagerException sm) {
            return sm.statusCode() >= 500 || sm.isThrottlingException() || sm.statusCode() == 429;
        }
        return false;
    }

    private static RuntimeException answer(BackendLocation location, String action, String region, Throwable ex) {
        if (ex instanceof SecretFormatException format) {
            return format;
        }
        String advice = ex instanceof SecretsManagerException sm && sm.statusCode() == 400
                && "AccessDeniedException".equals(errorCode(sm))
                ? "; the IAM policy must allow secretsmanager:GetSecretValue and DescribeSecret on "
                        + "arn:aws:secretsmanager:" + region + ":<account>:secret:" + location.path().split("/")[0]
                        + "/*"
                : "";
        return new BackendUnavailableException(ID, "aws: " + action + " " + location.path() + " in " + region
                + " was refused: " + describe(ex) + advice);
    }

    private static String errorCode(SecretsManagerException ex) {
        return ex.awsErrorDetails() == null ? "" : ex.awsErrorDetails().errorCode();
    }

    private static String describe(Throwable ex) {
        if (ex instanceof SecretsManagerException sm && sm.awsErrorDetails() != null) {
            return sm.awsErrorDetails().errorCode() + " " + sm.statusCode();
        }
        return ex.getClass().getSimpleName();
    }

    private Mono<BackendSecret> readFrom(SecretsManagerAsyncClient client, BackendLocation location) {
        return stage(client, location, "AWSCURRENT").flatMap(current ->
                stage(client, location, "AWSPREVIOUS")
                        .onErrorResume(ResourceNotFoundException.class, ex -> Mono.empty())
                        .map(previous -> new BackendSecret(current, previous, marker(current, previous)))
                        .switchIfEmpty(Mono.fromSupplier(() -> new BackendSecret(current, null,
                                marker(current, null))))
                        .doOnError(ex -> current.wipe()));
    }

    private Mono<BackendVersion> stage(SecretsManagerAsyncClient client, BackendLocation location, String stage) {
        return Mono.fromFuture(() -> client.getSecretValue(b -> b.secretId(location.path()).versionStage(stage)))
                .onErrorMap(CompletionException.class, ex -> ex.getCause() == null ? ex : ex.getCause())
                .map(response -> version(response, location));
    }

    private BackendVersion version(GetSecretValueResponse response, BackendLocation location) {
        if (response.secretString() == null) {
            throw new SecretFormatException("version " + response.versionId() + " at " + location + " is a "
                    + "SecretBinary; Keybroker serves text secrets: store the key as SecretString");
        }
        byte[] bytes = response.secretString().getBytes(StandardCharsets.UTF_8);
        SecretValue value;
        if (location.field() == null) {
            value = SecretValue.adopt(bytes);
        } else {
            try {
                value = fields.select(bytes, location, response.versionId());
            } finally {
                Arrays.fill(bytes, (byte) 0);
            }
        }
        return new BackendVersion(response.versionId(), response.createdDate(), value);
    }

    static ChangeMarker marker(Map<String, List<String>> versionsToStages) {
        String current = null;
        String previous = null;
        for (Map.Entry<String, List<String>> entry : versionsToStages.entrySet()) {
            if (entry.getValue().contains("AWSCURRENT")) {
                current = entry.getKey();
            }
            if (entry.getValue().contains("AWSPREVIOUS")) {
                previous = entry.getKey();
            }
        }
        return new ChangeMarker("aws;current=" + current + ";previous=" + previous);
    }

    private static ChangeMarker marker(BackendVersion current, BackendVersion previous) {
        return new ChangeMarker("aws;current=" + current.version() + ";previous="
                + (previous == null ? null : previous.version()));
    }

    @Override
    public void close() {
        regions.forEach(region -> region.client().close());
        try {
            shared.close();
        } catch (Exception ex) {
            throw new IllegalStateException("closing the AWS clients' shared resources failed", ex);
        }
    }
}
