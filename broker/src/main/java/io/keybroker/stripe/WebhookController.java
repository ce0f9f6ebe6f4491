package io.keybroker.stripe;

import io.keybroker.api.AccessAttempt;
import io.keybroker.api.AccessControl;
import io.keybroker.api.ApiException;
import io.keybroker.api.SecretReader;
import io.keybroker.audit.AccessRecord;
import io.keybroker.backend.BackendLocation;
import io.keybroker.backend.SecretFormatException;
import io.keybroker.cache.CacheLookup;
import io.keybroker.cache.CachedSecret;
import io.keybroker.cache.EncryptedVersion;
import io.keybroker.cache.SecretCache;
import io.keybroker.cache.SecretCipher;
import io.keybroker.cache.SecretUnavailableException;
import io.keybroker.policy.PolicyDecision;
import io.keybroker.rotation.RotationProperties;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code POST /v1/webhooks/stripe/verify?secret=NAME}: verifies a Stripe webhook as delivered (raw body and
 * {@code Stripe-Signature} header) against the current and, inside the grace window, the previous value of the
 * webhook secret NAME, so the workload never holds {@code whsec_...}.
 *
 * <p>Checks, in order, each refusal a 400 problem saying which one failed: a signature header is present and well
 * formed; one {@code v1} signature matches the current or previous secret; the signed timestamp is within
 * {@code keybroker.stripe.webhook-tolerance} of now; the body is a JSON event with an {@code id}; that id was not
 * verified before inside the tolerance window (a replay). Allowed by the workload's {@code stripe.webhookSecrets}
 * only (403 otherwise); a read grant is neither needed nor enough. One access record per request, endpoint
 * {@code webhook}, with the version that matched.
 */
@RestController
public class WebhookController {

    private static final String SIGNATURE = "Stripe-Signature";
    private static final int MAX_BODY_BYTES = StripeProxyController.MAX_BODY_BYTES;
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final AccessControl access;
    private final SecretReader reader;
    private final SecretCache cache;
    private final SecretCipher cipher;
    private final StripeMetrics metrics;
    private final Duration tolerance;
    private final Duration gracePeriod;
    private final ReplayCache replays;
    private final Clock clock;

    public WebhookController(AccessControl access, SecretReader reader, SecretCache cache, SecretCipher cipher,
            StripeMetrics metrics, StripeProperties properties, RotationProperties rotation, Clock clock) {
        this.access = access;
        this.reader = reader;
        this.cache = cache;
        this.cipher = cipher;
        this.metrics = metrics;
        this.tolerance = properties.webhookTolerance();
        this.gracePeriod = rotation.gracePeriod();
        this.replays = new ReplayCache(properties.replayCacheSize());
        this.clock = clock;
    }

    @PostMapping("/v1/webhooks/stripe/verify")
    public Mono<ResponseEntity<Map<String, Object>>> verify(ServerWebExchange exchange) {
        return Mono.defer(() -> {
            AccessAttempt attempt = access.begin(exchange, "webhook");
            List<String> names = exchange.getRequest().getQueryParams().getOrDefault("secret", List.of());
            if (names.size() != 1) {
                throw refused(attempt, AccessRecord.Decision.INVALID, null, "no single secret parameter",
                        ApiException.badRequest("name the webhook secret once: POST /v1/webhooks/stripe/verify?"
                                + "secret=stripe/webhook-secret"), "refused");
            }
            SecretName name = access.name(attempt, names.get(0));
            PolicyDecision decision = access.policy().decideWebhookSecret(attempt.identity(), name);
            if (!decision.allowed()) {
                throw refused(attempt, AccessRecord.Decision.DENY, PolicyDecision.DEFAULT_DENY, decision.reason(),
                        ApiException.forbidden(decision.reason()), "denied");
            }
            String header = exchange.getRequest().getHeaders().getFirst(SIGNATURE);
            if (header == null || header.isBlank()) {
                throw refused(attempt, AccessRecord.Decision.INVALID, decision.rule(), "no Stripe-Signature header",
                        ApiException.badRequest("the request has no Stripe-Signature header; pass on the header "
                                + "exactly as Stripe sent it with the webhook"), "refused");
            }
            WebhookSignature.Header signature;
            try {
                signature = WebhookSignature.parse(header);
            } catch (IllegalArgumentException ex) {
                throw refused(attempt, AccessRecord.Decision.INVALID, decision.rule(), "malformed Stripe-Signature",
                        ApiException.badRequest(ex.getMessage()), "refused");
            }
            BackendLocation location = reader.locate(name).backend();
            return DataBufferUtils.join(exchange.getRequest().getBody(), MAX_BODY_BYTES)
                    .map(buffer -> {
                        try {
                            byte[] bytes = new byte[buffer.readableByteCount()];
                            buffer.read(bytes);
                            return bytes;
                        } finally {
                            DataBufferUtils.release(buffer);
                        }
                    })
                    .defaultIfEmpty(new byte[0])
                    .onErrorMap(DataBufferLimitException.class, ex -> refused(attempt, AccessRecord.Decision.INVALID,
                            decision.rule(), "body over 1 MiB", new ApiException(HttpStatus.CONTENT_TOO_LARGE,
                                    "Request too large", "the webhook body is over 1 MiB; Stripe's events are far "
                                            + "smaller, so this is not a Stripe webhook"), "refused"))
                    .zipWith(secret(attempt, decision, name, location))
                    .map(bodyAndSecret -> check(attempt, decision, name, signature, bodyAndSecret.getT1(),
                            bodyAndSecret.getT2()));
        });
    }

    private Mono<CacheLookup> secret(AccessAttempt attempt, PolicyDecision decision, SecretName name,
            BackendLocation location) {
        return cache.get(location)
                .switchIfEmpty(Mono.error(() -> refused(attempt, AccessRecord.Decision.NOT_FOUND, decision.rule(),
                        "the backend has no such secret", ApiException.notFound("the webhook secret " + name
                                + " has no value in the backend; create it, or fix stripe.webhookSecrets"),
                        "refused")))
                .onErrorMap(SecretUnavailableException.class, ex -> refused(attempt,
                        AccessRecord.Decision.UNAVAILABLE, decision.rule(), "backend unavailable",
                        ApiException.unavailable("the webhook secret " + name + " cannot be read from the backend "
                                + "and no usable cached copy is left; try again later", ex.retryAfter()), "refused"))
                .onErrorMap(SecretFormatException.class, ex -> refused(attempt, AccessRecord.Decision.UNAVAILABLE,
                        decision.rule(), "stored value cannot be used as configured", new ApiException(
                                HttpStatus.BAD_GATEWAY, "Unusable secret", "the webhook secret " + name + " is "
                                        + "stored in a form the broker cannot use as configured; check its mapping"),
                        "refused"));
    }

    private ResponseEntity<Map<String, Object>> check(AccessAttempt attempt, PolicyDecision decision, SecretName name,
            WebhookSignature.Header signature, byte[] body, CacheLookup hit) {
        CachedSecret secret = hit.secret();
        Instant now = clock.instant();
        EncryptedVersion matched = null;
        Stage stage = null;
        if (matches(signature, body, secret.current())) {
            matched = secret.current();
            stage = Stage.CURRENT;
        } else {
            EncryptedVersion previous = secret.previousWithinGrace(now, gracePeriod).orElse(null);
            if (previous != null && matches(signature, body, previous)) {
                matched = previous;
                stage = Stage.PREVIOUS;
            }
        }
        if (matched == null) {
            throw refused(attempt, AccessRecord.Decision.INVALID, decision.rule(), "no signature matches",
                    ApiException.badRequest("no v1 signature of the Stripe-Signature header matches the current "
                            + "value of " + name + (secret.previousWithinGrace(now, gracePeriod).isPresent()
                                    ? " or its previous value" : "") + ": the body was changed (pass it on byte for "
                            + "byte, before any JSON parsing), or the webhook was signed with another secret (check "
                            + "which endpoint's signing secret " + name + " holds)"), "refused");
        }
        Instant signedAt = Instant.ofEpochSecond(signature.timestamp());
        if (Duration.between(signedAt, now).abs().compareTo(tolerance) > 0) {
            throw refused(attempt, AccessRecord.Decision.INVALID, decision.rule(), "timestamp outside tolerance",
                    ApiException.badRequest("the signature's timestamp " + signedAt + " is more than " + tolerance
                            + " from now (keybroker.stripe.webhook-tolerance): a late replay, or a clock that is "
                            + "off"), "refused");
        }
        JsonNode event;
        try {
            event = JSON.readTree(body);
        } catch (JacksonException ex) {
            event = null;
        }
        JsonNode id = event == null || !event.isObject() ? null : event.get("id");
        if (id == null || !id.isString() || id.asString().isEmpty() || id.asString().length() > 255) {
            throw refused(attempt, AccessRecord.Decision.INVALID, decision.rule(), "signed body is not an event",
                    ApiException.badRequest("the body is signed but is not a Stripe event (a JSON object with an "
                            + "\"id\"); pass on the body exactly as Stripe sent it"), "refused");
        }
        ReplayCache.Result seen = replays.remember(name.value(), id.asString(), signedAt.plus(tolerance)
                .isAfter(now) ? signedAt.plus(tolerance) : now.plus(tolerance), now);
        if (seen == ReplayCache.Result.REPLAY) {
            throw refused(attempt, AccessRecord.Decision.INVALID, decision.rule(), "replayed event",
                    ApiException.badRequest("event " + printable(id.asString()) + " was already verified within "
                            + "the last " + tolerance + ": a replay (handle each event once; Stripe's own retries "
                            + "of an event you did not acknowledge come later than that)"), "refused");
        }
        if (seen == ReplayCache.Result.FULL) {
            throw refused(attempt, AccessRecord.Decision.UNAVAILABLE, decision.rule(), "replay cache full",
                    ApiException.unavailable("too many webhooks verified within " + tolerance + " to remember them "
                            + "all (keybroker.stripe.replay-cache-size); try again shortly",
                            replays.untilRoom(now)), "refused");
        }
        JsonNode type = event.get("type");
        Map<String, String> versions = Map.of(stage.id(), matched.version());
        attempt.allowed(decision.rule(), versions, hit.source().name().toLowerCase(Locale.ROOT), List.of(stage));
        metrics.webhook("verified");
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("verified", true);
        answer.put("eventId", id.asString());
        answer.put("type", type != null && type.isString() ? type.asString() : null);
        answer.put("signedWith", stage.id());
        answer.put("timestamp", signedAt.toString());
        return ResponseEntity.ok().contentType(MediaType.APPLICATION_JSON).header("Cache-Control", "no-store")
                .body(answer);
    }

    private boolean matches(WebhookSignature.Header signature, byte[] body, EncryptedVersion version) {
        return cipher.withPlaintext(version, secret -> WebhookSignature.matches(signature, body, secret));
    }

    private ApiException refused(AccessAttempt attempt, AccessRecord.Decision decision, String rule, String reason,
            ApiException answer, String outcome) {
        metrics.webhook(outcome);
        return attempt.refuse(decision, rule, reason, answer);
    }

    private static String printable(String raw) {
        return SecretName.printable(raw);
    }
}
