package io.keybroker.api;

import io.keybroker.audit.AccessRecord.Decision;
import io.keybroker.backend.SecretsManagerRegions;
import io.keybroker.cache.EncryptedVersion;
import io.keybroker.cache.SecretCipher;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;
import io.keybroker.secret.InvalidSecretNameException;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.ObjectProvider;
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
    /** The characters Secrets Manager allows in a secret name, and its length limit. */
    private static final Pattern AWS_NAME = Pattern.compile("[A-Za-z0-9/_+=.@-]{1,512}");
    /** arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME; NAME may carry the 6-character suffix. */
    private static final Pattern AWS_ARN = Pattern.compile(
            "arn:(aws|aws-cn|aws-us-gov):secretsmanager:([a-z0-9-]{1,32}):([0-9]{12}):secret:(.+)");
    private static final Pattern ARN_SUFFIX = Pattern.compile("-[A-Za-z0-9]{6}$");
    /** Secrets Manager names and ARNs name secrets of the AWS backend only. */
    private static final String AWS = "aws";

    private final AccessControl access;
    private final SecretReader reader;
    private final SecretCipher cipher;
    private final RefreshGate gate;
    /** The regions this broker reads Secrets Manager in; empty when it has no AWS backend. */
    private final Set<String> regions;

    public AgentController(AccessControl access, SecretReader reader, SecretCipher cipher, RefreshGate gate,
            ObjectProvider<SecretsManagerRegions> aws) {
        this.access = access;
        this.reader = reader;
        this.cipher = cipher;
        this.gate = gate;
        SecretsManagerRegions known = aws.getIfAvailable();
        this.regions = known == null ? Set.of() : known.regions();
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
            SecretName name = access.name(attempt, logicalName(secretId));
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

    /**
     * The logical name a {@code secretId} means. A Secrets Manager name or ARN means the logical name that owns
     * that backend location; otherwise the text is read as a logical name (and refused by the one parser if it
     * is none). The backend form is tried first because agent code sends the name Secrets Manager knows.
     */
    private String logicalName(String secretId) {
        if (secretId.startsWith("arn:")) {
            return fromArn(secretId);
        }
        if (AWS_NAME.matcher(secretId).matches()) {
            List<SecretName> owners = reader.namesAt(AWS, secretId);
            if (owners.size() == 1) {
                return owners.get(0).value();
            }
        }
        return secretId;
    }

    private String fromArn(String arn) {
        String own = "arn:keybroker:secretsmanager:" + reader.environment() + ":keybroker:secret:";
        if (arn.startsWith(own)) {
            return arn.substring(own.length());
        }
        Matcher m = AWS_ARN.matcher(arn);
        if (!m.matches() || !AWS_NAME.matcher(m.group(4)).matches()) {
            throw new InvalidSecretNameException("secretId looks like an ARN but is not a Secrets Manager secret ARN "
                    + "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME); give the ARN Secrets Manager shows, the "
                    + "secret's name, or its Keybroker name");
        }
        if (!regions.isEmpty() && !regions.contains(m.group(2))) {
            // Fail closed: a same-named secret in another region is another secret.
            throw new InvalidSecretNameException("the ARN names a secret in region " + m.group(2) + ", but this "
                    + "broker reads Secrets Manager in " + regions.stream().sorted().toList() + "; use an ARN of "
                    + "those regions, the secret's name, or its Keybroker name");
        }
        String name = m.group(4);
        // A full ARN ends in '-' and 6 characters Secrets Manager appended; a partial ARN does not. Try the name
        // without the suffix first, as Secrets Manager resolves it.
        List<String> tries = new ArrayList<>();
        if (ARN_SUFFIX.matcher(name).find()) {
            tries.add(name.substring(0, name.length() - 7));
        }
        tries.add(name);
        for (String candidate : tries) {
            List<SecretName> owners = reader.namesAt(AWS, candidate);
            if (owners.size() == 1) {
                return owners.get(0).value();
            }
        }
        throw new InvalidSecretNameException("the secret this ARN names is not served by this broker under any "
                + "name: no keybroker.mappings entry on the aws backend (nor the default mapping, "
                + "{environment}/{name}) reaches it; use the Keybroker name the policy grants, or ask an operator "
                + "to map the secret");
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
