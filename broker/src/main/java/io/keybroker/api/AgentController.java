package io.keybroker.api;

import io.keybroker.audit.AccessRecord.Decision;
import io.keybroker.cache.EncryptedVersion;
import io.keybroker.cache.SecretCipher;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.springframework.util.MultiValueMap;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

/**
 * The AWS Secrets Manager Agent's protocol: {@code GET /secretsmanager/get?secretId=NAME} with optional
 * {@code versionStage} ({@code AWSCURRENT} or {@code AWSPREVIOUS}) or {@code versionId}, answered in
 * GetSecretValue's JSON shape, under the same policy as {@code /v1}. Code written for the agent switches by
 * changing its URL and presenting a client certificate; the agent's SSRF token header is accepted and ignored,
 * because mTLS already proves the caller.
 *
 * <p>{@code secretId} is what code written for the agent sends: the secret's name in Secrets Manager (letters,
 * digits and {@code /_+=.@-}), its full or partial ARN ({@code arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME}
 * with or without the 6-character suffix Secrets Manager appends), the ARN this endpoint answers with, or a
 * Keybroker logical name. A backend name or ARN resolves to the one logical name whose mapping produces that
 * location, and that logical name is what the policy decides on and the audit records: one secret, one name, one
 * policy, whichever form the caller used. {@code refreshNow=true} ({@code true}, {@code false}, {@code 1} or
 * {@code 0} in any case, as the agent accepts) reads the backend now and fails rather than serve an older copy,
 * at most once per {@code keybroker.rotation.refresh-min-interval} per secret (429 before), the limit
 * {@code POST /v1/secrets/{name}/refresh} shares.
 */
@RestController
public class AgentController {

    private static final Set<String> PARAMETERS = Set.of("secretId", "versionStage", "versionId", "refreshNow");

    private final AccessControl access;
    private final SecretReader reader;
    private final SecretCipher cipher;
    private final RefreshGate gate;
    private final AgentSecretIds secretIds;

    public AgentController(AccessControl access, SecretReader reader, SecretCipher cipher, RefreshGate gate,
            AgentSecretIds secretIds) {
        this.access = access;
        this.reader = reader;
        this.cipher = cipher;
        this.gate = gate;
        this.secretIds = secretIds;
    }

    @GetMapping("/secretsmanager/get")
    public Mono<Void> get(ServerWebExchange exchange) {
        return Mono.defer(() -> {
            AccessAttempt attempt = access.begin(exchange, "agent");
            MultiValueMap<String, String> query = exchange.getRequest().getQueryParams();
            for (Map.Entry<String, List<String>> parameter : query.entrySet()) {
                if (!PARAMETERS.contains(parameter.getKey()) || parameter.getValue().size() != 1) {
                    throw attempt.refuse(Decision.INVALID, null, "unknown or repeated query parameter",
                            ApiException.badRequest("only secretId, versionStage, versionId and refreshNow are "
                                    + "accepted, each at most once"));
                }
            }
            String secretId = query.getFirst("secretId");
            if (secretId == null) {
                throw attempt.refuse(Decision.INVALID, null, "secretId missing",
                        ApiException.badRequest("secretId is required, e.g. ?secretId=stripe/secret-key"));
            }
            SecretName name = access.name(attempt, secretIds.logicalName(secretId));
            boolean refreshNow = refreshNow(attempt, query.getFirst("refreshNow"));
            String stageParam = query.getFirst("versionStage");
            String versionId = query.getFirst("versionId");
            Stage wanted = null;
            if (stageParam != null) {
                wanted = switch (stageParam) {
                    case "AWSCURRENT" -> Stage.CURRENT;
                    case "AWSPREVIOUS" -> Stage.PREVIOUS;
                    default -> throw attempt.refuse(Decision.INVALID, null, "unknown versionStage",
                            ApiException.badRequest("versionStage must be AWSCURRENT or AWSPREVIOUS"));
                };
            }
            if (versionId != null && !versionId.matches("[A-Za-z0-9._-]{1,64}")) {
                throw attempt.refuse(Decision.INVALID, null, "malformed versionId",
                        ApiException.badRequest("versionId must be 1-64 letters, digits, '.', '_' or '-'"));
            }
            Set<Stage> stages = wanted != null ? EnumSet.of(wanted)
                    : versionId != null ? EnumSet.allOf(Stage.class) : EnumSet.of(Stage.CURRENT);
            List<Stage> granted = access.authorize(attempt, name, stages);
            // Like GetSecretValue: no stage and no version id means AWSCURRENT.
            Stage fixedStage = wanted != null ? wanted : versionId == null ? Stage.CURRENT : null;
            Mono<SecretReader.Served> read;
            if (refreshNow) {
                Duration wait = gate.reserve(reader.locate(name).backend());
                if (!wait.isZero()) {
                    throw attempt.refuse(Decision.RATE_LIMITED, attempt.rule(), "refreshNow of this secret too soon",
                            ApiException.tooManyRequests(name + " was refreshed from its backend less than "
                                    + gate.minInterval() + " ago (keybroker.rotation.refresh-min-interval); ask "
                                    + "without refreshNow for the copy that read brought, or retry after the "
                                    + "Retry-After delay", wait));
                }
                read = reader.readFresh(attempt, name, granted);
            } else {
                read = reader.read(attempt, name, granted);
            }
            return read.flatMap(served -> {
                EncryptedVersion version = pick(served, fixedStage, versionId);
                if (version == null) {
                    return Mono.error(attempt.refuse(Decision.NOT_FOUND, attempt.rule(), "no granted version matches",
                            ApiException.notFound("no version of " + name + " matches "
                                    + (versionId != null ? "versionId " + versionId : "the stage asked for")
                                    + (fixedStage == Stage.PREVIOUS ? " inside the grace window" : ""))));
                }
                served.recordAllowed(attempt, version);
                return write(exchange, served, version, version == served.current() ? "AWSCURRENT" : "AWSPREVIOUS");
            });
        });
    }

    private static boolean refreshNow(AccessAttempt attempt, @Nullable String raw) {
        if (raw == null) {
            return false;
        }
        return switch (raw.toLowerCase(Locale.ROOT)) {
            case "true", "1" -> true;
            case "false", "0" -> false;
            default -> throw attempt.refuse(Decision.INVALID, null, "invalid refreshNow value",
                    ApiException.badRequest("refreshNow must be true, false, 1 or 0"));
        };
    }

    private static @Nullable EncryptedVersion pick(SecretReader.Served served, Stage stage, String versionId) {
        EncryptedVersion candidate = stage == Stage.PREVIOUS ? served.previous()
                : stage == Stage.CURRENT ? served.current() : null;
        if (versionId == null) {
            return candidate;
        }
        if (candidate != null) {
            return candidate.version().equals(versionId) ? candidate : null;
        }
        if (served.current() != null && served.current().version().equals(versionId)) {
            return served.current();
        }
        if (served.previous() != null && served.previous().version().equals(versionId)) {
            return served.previous();
        }
        return null;
    }

    private Mono<Void> write(ServerWebExchange exchange, SecretReader.Served served, EncryptedVersion version,
            String stageLabel) {
        return ResponseBodies.writeSecretJson(exchange, body(served, version, stageLabel, reader.environment(), cipher),
                version.version());
    }

    /** The answer's body, GetSecretValue's JSON; also what the listener's direct read sends. */
    static byte[] body(SecretReader.Served served, EncryptedVersion version, String stageLabel, String environment,
            SecretCipher cipher) {
        String name = served.location().name().value();
        SecretJsonWriter json = new SecretJsonWriter(256);
        try {
            json.beginObject()
                    // The logical name only: the backend and its path are the broker's business, not the caller's.
                    .string("ARN", "arn:keybroker:secretsmanager:" + environment + ":keybroker:secret:" + name)
                    .string("Name", name)
                    .string("VersionId", version.version());
            cipher.withPlaintext(version, plaintext -> {
                json.bytes("SecretString", plaintext);
                return null;
            });
            json.stringArray("VersionStages", List.of(stageLabel))
                    // GetSecretValue's JSON carries CreatedDate as epoch seconds with a fraction.
                    .rawNumber("CreatedDate", BigDecimal.valueOf(version.createdAt().toEpochMilli())
                            .movePointLeft(3).toPlainString())
                    .endObject();
            return json.toByteArray();
        } finally {
            json.wipe();
        }
    }
}
