package io.keybroker.api;

import io.keybroker.audit.AccessRecord.Decision;
import io.keybroker.backend.SecretLocator;
import io.keybroker.cache.EncryptedVersion;
import io.keybroker.cache.SecretCipher;
import io.keybroker.policy.Grant;
import io.keybroker.policy.PolicySet;
import io.keybroker.policy.SecretPattern;
import io.keybroker.policy.WorkloadPolicy;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Spring Cloud Config Server's protocol: {@code GET /{application}/{profile}[/{label}]} answers an Environment
 * document whose one property source holds the caller's granted secrets under their property names (the
 * previous version under the name plus {@code .previous}), so a Spring Boot service gets its keys with
 * {@code spring.config.import=configserver:https://127.0.0.1:8443} and no code.
 *
 * <p>{@code application} must be the caller's application name from its policy entry, else 403. Only secrets
 * granted by exact name are served: a wildcard grant cannot be listed without listing the backend, which the
 * broker never does. A granted secret the backend lacks is left out; a backend failure fails the whole request
 * (503), so a service never starts with a silently partial configuration.
 */
@RestController
public class ConfigServerController {

    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._,-]{0,127}");

    private final AccessControl access;
    private final SecretReader reader;
    private final SecretCipher cipher;
    private final SecretLocator locator;

    public ConfigServerController(AccessControl access, SecretReader reader, SecretCipher cipher,
            SecretLocator locator) {
        this.access = access;
        this.reader = reader;
        this.cipher = cipher;
        this.locator = locator;
    }

    /**
     * The application segment never takes the broker's own first segments, so {@code /v1/secrets/x} can never
     * be read as an application "v1" with profile "secrets": without this, a three-segment path would match
     * {@code /{application}/{profile}/{label}} before {@code /v1/secrets/**}. Likewise {@code /stripe/v1/balance}
     * belongs to the Stripe proxy, never to an application "stripe".
     */
    private static final String APPLICATION = "{application:(?!v1$|secretsmanager$|actuator$|stripe$).+}";

    @GetMapping("/" + APPLICATION + "/{profile}")
    public Mono<Void> environment(@PathVariable String application, @PathVariable String profile,
            ServerWebExchange exchange) {
        return environment(application, profile, null, exchange);
    }

    @GetMapping("/" + APPLICATION + "/{profile}/{label}")
    public Mono<Void> environment(@PathVariable String application, @PathVariable String profile,
            @PathVariable String label, ServerWebExchange exchange) {
        return Mono.defer(() -> {
            AccessAttempt attempt = access.begin(exchange, "config");
            for (String part : label == null ? List.of(application, profile) : List.of(application, profile, label)) {
                if (!SEGMENT.matcher(part).matches()) {
                    throw attempt.refuse(Decision.INVALID, null, "invalid application, profile or label",
                            ApiException.badRequest("application, profile and label must be letters, digits, '.', "
                                    + "'_', '-' (profiles may be comma-separated)"));
                }
            }
            PolicySet policy = access.policy();
            Optional<WorkloadPolicy> workload = policy.workload(attempt.identity());
            if (workload.isEmpty() || !workload.get().application().equals(application)) {
                throw attempt.refuse(Decision.DENY, "application-mismatch", "asked for another application's "
                        + "configuration", ApiException.forbidden(attempt.identity().text() + " may only read the "
                        + "configuration of its own application"
                        + workload.map(w -> " ('" + w.application() + "'); set spring.application.name to it").orElse(
                                "; no policy entry names this identity")));
            }
            List<SecretName> names = policy.grants().stream()
                    .filter(grant -> grant.identity().matches(attempt.identity()))
                    .map(Grant::secret)
                    .filter(pattern -> pattern.kind() == SecretPattern.Kind.EXACT)
                    .map(pattern -> SecretName.parse(pattern.text()))
                    .distinct().sorted().toList();
            return Flux.fromIterable(names)
                    .concatMap(name -> {
                        AccessAttempt each = attempt.next();
                        return read(each, name).map(served -> new Read(each, served));
                    })
                    .collectList()
                    .flatMap(reads -> write(exchange, attempt, application, profile, label, reads));
        });
    }

    private record Read(AccessAttempt attempt, SecretReader.Served served) {
    }

    private Mono<SecretReader.Served> read(AccessAttempt attempt, SecretName name) {
        attempt.name(name);
        List<Stage> granted = access.authorize(attempt, name, EnumSet.allOf(Stage.class));
        return reader.read(attempt, name, granted)
                .onErrorResume(ApiException.class, ex -> ex.status() == HttpStatus.NOT_FOUND ? Mono.empty()
                        : Mono.error(ex));
    }

    private Mono<Void> write(ServerWebExchange exchange, AccessAttempt request, String application, String profile,
            String label, List<Read> reads) {
        // Every key the document would carry, with the secret it comes from: a key is emitted once, or the
        // request is refused (two names whose property names collide, e.g. a/b and a.b, or x and x/previous).
        TreeMap<String, Read> byKey = new TreeMap<>();
        TreeMap<String, EncryptedVersion> values = new TreeMap<>();
        for (Read read : reads) {
            SecretReader.Served s = read.served();
            String property = s.location().propertyName();
            for (var entry : new Object[][] {{property, s.current()}, {property + ".previous", s.previous()}}) {
                if (entry[1] == null) {
                    continue;
                }
                String key = (String) entry[0];
                Read other = byKey.putIfAbsent(key, read);
                if (other != null) {
                    throw request.refuse(Decision.ERROR, "property-collision", "two secrets map to property " + key,
                            new ApiException(HttpStatus.CONFLICT, "Conflicting property names",
                                    other.served().location().name() + " and " + s.location().name() + " both map "
                                            + "to the property " + key + "; ask an operator to give one of them "
                                            + "another name with keybroker.mappings[].property"));
                }
                values.put(key, (EncryptedVersion) entry[1]);
            }
        }
        reads.forEach(read -> read.served().recordAllowed(read.attempt(), read.served().current(),
                read.served().previous()));
        SecretJsonWriter json = new SecretJsonWriter(512);
        byte[] body;
        try {
            json.beginObject().string("name", application)
                    .stringArray("profiles", Arrays.asList(profile.split(",")));
            if (label == null) {
                json.nullValue("label");
            } else {
                json.string("label", label);
            }
            json.nullValue("version").nullValue("state").beginArray("propertySources");
            json.beginObject().string("name", "keybroker:" + locator.environment()).beginObject("source");
            values.forEach((key, version) -> value(json, key, version));
            json.endObject().endObject().endArray().endObject();
            body = json.toByteArray();
        } finally {
            json.wipe();
        }
        return ResponseBodies.writeSecretJson(exchange, body, null);
    }

    private void value(SecretJsonWriter json, String property, EncryptedVersion version) {
        cipher.withPlaintext(version, plaintext -> {
            json.bytes(property, plaintext);
            return null;
        });
    }
}
