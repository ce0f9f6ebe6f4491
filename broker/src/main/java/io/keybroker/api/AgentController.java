package io.keybroker.api;

import io.keybroker.audit.AccessRecord.Decision;
import io.keybroker.cache.EncryptedVersion;
import io.keybroker.cache.SecretCipher;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;
import java.math.BigDecimal;
import java.util.EnumSet;
import java.util.List;
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
 * because mTLS already proves the caller. {@code secretId} is a Keybroker logical name.
 */
@RestController
public class AgentController {

    private static final Set<String> PARAMETERS = Set.of("secretId", "versionStage", "versionId");

    private final AccessControl access;
    private final SecretReader reader;
    private final SecretCipher cipher;

    public AgentController(AccessControl access, SecretReader reader, SecretCipher cipher) {
        this.access = access;
        this.reader = reader;
        this.cipher = cipher;
    }

    @GetMapping("/secretsmanager/get")
    public Mono<Void> get(ServerWebExchange exchange) {
        return Mono.defer(() -> {
            AccessAttempt attempt = access.begin(exchange, "agent");
            MultiValueMap<String, String> query = exchange.getRequest().getQueryParams();
            for (Map.Entry<String, List<String>> parameter : query.entrySet()) {
                if (!PARAMETERS.contains(parameter.getKey()) || parameter.getValue().size() != 1) {
                    throw attempt.refuse(Decision.INVALID, null, "unknown or repeated query parameter",
                            ApiException.badRequest("only secretId, versionStage and versionId are accepted, "
                                    + "each at most once"));
                }
            }
            String secretId = query.getFirst("secretId");
            if (secretId == null) {
                throw attempt.refuse(Decision.INVALID, null, "secretId missing",
                        ApiException.badRequest("secretId is required, e.g. ?secretId=stripe/secret-key"));
            }
            SecretName name = access.name(attempt, secretId);
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
            return reader.read(attempt, name, granted).flatMap(served -> {
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
        String name = served.location().name().value();
        SecretJsonWriter json = new SecretJsonWriter(256);
        byte[] body;
        try {
            json.beginObject()
                    // The logical name only: the backend and its path are the broker's business, not the caller's.
                    .string("ARN", "arn:keybroker:secretsmanager:" + reader.environment() + ":keybroker:secret:"
                            + name)
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
            body = json.toByteArray();
        } finally {
            json.wipe();
        }
        return ResponseBodies.writeSecretJson(exchange, body, version.version());
    }
}
